using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using NetStack.Samples.Netstackd;
using NetStack.Samples.Traceroute;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>netstackd's System.CommandLine front: --help, --version, one clear error, --log-level (no root needed).</summary>
public sealed class NetstackdOptionsTests
{
    private static readonly string[] s_options =
    [
        "--tap", "--pcap", "--mac", "--mtu", "--address", "--gateway", "--dhcp", "--slaac", "--tcp-echo", "--udp-echo", "--discard",
        "--chargen", "--http", "--http-root", "--record", "--fault-drop", "--fault-reorder", "--fault-duplicate", "--seed", "--backlog",
        "--syn-queue", "--queue-len", "--loop-nice", "--no-offloads", "--cc", "--log-level", "--help", "--version",
    ];

    private static async Task<(int Code, string Out, string Err, NetstackdOptions? Ran)> Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        NetstackdOptions? ran = null;
        int code = await NetstackdOptions.InvokeAsync(args, output, error, o => { ran = o; return Task.FromResult(42); });
        return (code, output.ToString(), error.ToString(), ran);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    [InlineData("--tap", "t", "--help")]          // help wins over a command line that would not run
    public async Task Help_lists_every_option_and_runs_nothing(params string[] args)
    {
        var (code, output, error, ran) = await Invoke(args);
        Assert.Equal(0, code);
        Assert.Null(ran);
        Assert.Equal("", error);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        foreach (var option in s_options) Assert.Matches(new Regex($@"(^|[\s,]){Regex.Escape(option)}([\s,]|$)", RegexOptions.Multiline), output);
        Assert.True(NetstackdOptions.TryParse(args, out var o, out _) && o.Help);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("cubic", NetStack.Transport.Tcp.CongestionAlgorithm.Cubic)]
    [InlineData("NewReno", NetStack.Transport.Tcp.CongestionAlgorithm.NewReno)]
    [InlineData("bbr", NetStack.Transport.Tcp.CongestionAlgorithm.Bbr)]
    public void Cc_selects_the_congestion_control(string? value, NetStack.Transport.Tcp.CongestionAlgorithm? expected)
    {
        string[] args = value is null ? ["--tap", "t", "--dhcp"] : ["--tap", "t", "--dhcp", "--cc", value];
        Assert.True(NetstackdOptions.TryParse(args, out var o, out var error), error);
        Assert.Equal(expected, o.Congestion);
        Assert.False(NetstackdOptions.TryParse(["--tap", "t", "--dhcp", "--cc", "vegas"], out _, out error));
        Assert.Contains("--cc: 'vegas'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bbr", NetStack.Transport.Tcp.CongestionAlgorithm.Bbr, "= bbr")]
    [InlineData("cubic\n", NetStack.Transport.Tcp.CongestionAlgorithm.Cubic, "= cubic")]
    [InlineData("reno", NetStack.Transport.Tcp.CongestionAlgorithm.NewReno, "= reno")]
    [InlineData("dctcp", NetStack.Transport.Tcp.CongestionAlgorithm.Cubic, "dctcp is not implemented")]
    [InlineData(null, NetStack.Transport.Tcp.CongestionAlgorithm.Cubic, "unreadable")]
    public void Without_cc_the_host_kernels_algorithm_is_taken_when_NetStack_has_it(
        string? kernelName, NetStack.Transport.Tcp.CongestionAlgorithm expected, string source)
    {
        var (algorithm, said) = HostCongestionControl.Resolve(kernelName);
        Assert.Equal(expected, algorithm);
        Assert.Contains(source, said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_informational_version_from_Directory_Build_props()
    {
        var (code, output, error, ran) = await Invoke("--version");
        Assert.Equal(0, code);
        Assert.Null(ran);
        Assert.Equal("", error);
        Assert.Equal(NetstackdOptions.VersionText, output.TrimEnd());
        Assert.StartsWith(VersionPrefix(), NetstackdOptions.VersionText, StringComparison.Ordinal);
        // traceroute -V (its own syntax) names the same version.
        Assert.Equal(NetstackdOptions.VersionText, TracerouteOptions.AssemblyVersion);
        Assert.Contains($"NetStack traceroute {NetstackdOptions.VersionText} ", TracerouteOptions.VersionText, StringComparison.Ordinal);
        Assert.True(NetstackdOptions.TryParse(["--version"], out var o, out _) && o.Version);
    }

    [Fact]
    public void The_built_netstackd_prints_its_version_and_refuses_a_bad_option()
    {
        var version = Shell.Run("dotnet", [NetstackdProcess.DllPath, "--version"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, version.ExitCode);
        Assert.Equal(NetstackdOptions.VersionText, version.StandardOutput.Trim());
        var bad = Shell.Run("dotnet", [NetstackdProcess.DllPath, "--tap", "t", "--dhcp", "--mtu", "9"], TimeSpan.FromSeconds(60));
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("", bad.StandardOutput);
        Assert.Equal("netstackd: --mtu: '9' is not between 1280 and 65535\n", bad.StandardError);
    }

    [Theory]
    [InlineData("--version option cannot be combined with other arguments.", "--tap", "t", "--dhcp", "--version")]
    [InlineData("--log-level: 'verbose' is not one of Trace, Debug, Information, Warning, Error, Critical, None", "--tap", "t", "--dhcp", "--log-level", "verbose")]
    [InlineData("--log-level: '1' is not one of Trace, Debug, Information, Warning, Error, Critical, None", "--tap", "t", "--dhcp", "--log-level", "1")]
    [InlineData("--log-level is given more than once", "--tap", "t", "--dhcp", "--log-level", "debug", "--log-level", "trace")]
    [InlineData("--udp-echo is given more than once", "--tap", "t", "--dhcp", "--udp-echo", "7", "--udp-echo", "8")]
    [InlineData("--dhcp is given more than once", "--tap", "t", "--dhcp", "--dhcp")]
    [InlineData("--gateway: '::ffff:198.51.100.1' is IPv4-mapped; give the IPv4 address itself", "--tap", "t", "--dhcp", "--gateway", "::ffff:198.51.100.1")]
    [InlineData("--gateway: 'ff02::2' is not a unicast address", "--tap", "t", "--dhcp", "--gateway", "ff02::2")]
    [InlineData("--gateway: only one IPv4 gateway", "--tap", "t", "--dhcp", "--gateway", "198.51.100.1", "--gateway", "198.51.100.2")]
    [InlineData("--mtu: '9' is not between 1280 and 65535", "--tap", "t", "--dhcp", "--mtu", "9")]
    [InlineData("--tap: 'a/b' is not an interface name (1 to 15 characters)", "--tap", "a/b", "--dhcp")]
    [InlineData("--seed: 'x' is not a number", "--tap", "t", "--dhcp", "--seed", "x")]
    [InlineData("--http needs --http-root DIR", "--tap", "t", "--dhcp", "--http", "80")]
    [InlineData("--address needs a value", "--tap", "t", "--address")]
    [InlineData("Unrecognized command or argument '--bogus'.", "--tap", "t", "--dhcp", "--bogus")]
    [InlineData("Unrecognized command or argument 'stray'.", "--tap", "t", "--dhcp", "stray")]
    public async Task A_bad_command_line_is_one_message_naming_the_option_and_exit_2(string reason, params string[] args)
    {
        var (code, output, error, ran) = await Invoke(args);
        Assert.Equal(2, code);
        Assert.Null(ran);
        Assert.Equal("", output);
        Assert.Equal($"netstackd: {reason}\n", error.ReplaceLineEndings("\n"));
        Assert.False(NetstackdOptions.TryParse(args, out _, out var parsed));
        Assert.Equal(reason, parsed);
    }

    [Theory]
    [InlineData(null, LogLevel.Information)]
    [InlineData("trace", LogLevel.Trace)]
    [InlineData("Debug", LogLevel.Debug)]
    [InlineData("WARNING", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("critical", LogLevel.Critical)]
    [InlineData("none", LogLevel.None)]
    public async Task Log_level_parses_every_level_by_name(string? value, LogLevel expected)
    {
        string[] args = value is null ? ["--tap", "t", "--dhcp"] : ["--tap", "t", "--dhcp", "--log-level", value];
        var (code, _, error, ran) = await Invoke(args);
        Assert.True(code == 42, error);
        Assert.Equal(expected, ran!.LogLevel);
    }

    [Fact]
    public async Task A_good_command_line_reaches_the_run_with_every_value()
    {
        var (code, _, error, ran) = await Invoke("--tap=tap7", "--mac", "02:00:00:00:00:07", "--mtu", "9000", "--address", "198.51.100.7/24",
            "--address", "2001:db8:7::7/64", "--gateway", "198.51.100.1", "--gateway", "2001:db8:7::1", "--udp-echo", "7", "--fault-drop", "0.25",
            "--seed", "99", "--no-offloads", "--record", "x.pcap");
        Assert.True(code == 42, error);
        var o = ran!;
        Assert.Equal("tap7", o.Tap);
        Assert.Equal("02:00:00:00:00:07", o.Mac.ToString());
        Assert.Equal(9000, o.Mtu);
        Assert.Equal("198.51.100.7/24", Assert.Single(o.Ipv4Addresses).ToString());
        Assert.Equal("2001:db8:7::7/64", Assert.Single(o.Ipv6Addresses).ToString());
        Assert.Equal("198.51.100.1", o.Ipv4Gateway.ToString());
        Assert.Equal("2001:db8:7::1", o.Ipv6Gateway.ToString());
        Assert.Equal(7, o.UdpEcho);
        Assert.Equal(0.25, o.FaultDrop);
        Assert.True(o.HasFaults);
        Assert.Equal(99UL, o.Seed);
        Assert.True(o.NoOffloads);
        Assert.Equal("x.pcap", o.Record);
        Assert.Null(o.Pcap);
        Assert.False(o.Dhcp || o.Slaac);
    }

    /// <summary>VersionPrefix as Directory.Build.props sets it (the one place the version comes from).</summary>
    private static string VersionPrefix()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var props = Path.Combine(dir.FullName, "Directory.Build.props");
            if (!File.Exists(props)) continue;
            var match = Regex.Match(File.ReadAllText(props), "<VersionPrefix>([^<]+)</VersionPrefix>");
            if (match.Success) return match.Groups[1].Value;
        }
        throw new FileNotFoundException("Directory.Build.props with a VersionPrefix not found above " + AppContext.BaseDirectory);
    }
}
