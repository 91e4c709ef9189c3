using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// The sample as a user runs it: its executable, started inside R1 with <c>--tap NAME</c>, attaches to a TAP made by
/// <c>ip tuntap add</c> and prints what Linux traceroute prints from the client namespace.
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class CommandLineTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    [SkippableTheory]
    [InlineData(TracerouteLab.TargetV4, "198.51.100.1", "192.0.2.2", "192.0.2.6", "60")]
    [InlineData(TracerouteLab.TargetV6, "2001:db8:1::1", "2001:db8:12::2", "2001:db8:23::6", "80")]
    public async Task The_executable_on_a_persistent_tap_prints_what_linux_prints(string target, string h1, string h2, string h3, string size)
    {
        Root.Require();
        var lab = fixture.Lab;
        string[] args = ["-n", "-w", "5", "-q", "1", target];
        var linux = Task.Run(() => lab.RunLinux(args));
        string ours = lab.RunCommandLine(args);
        TraceText.AssertBothPrint(log,
            $"traceroute to {target} ({target}), 30 hops max, {size} byte packets\n 1  {h1}  N ms\n 2  {h2}  N ms\n 3  {h3}  N ms\n 4  {target}  N ms\n",
            await linux, ours);
    }
}
