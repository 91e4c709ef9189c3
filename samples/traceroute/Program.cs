using NetStack.Samples.Traceroute;

// traceroute: Linux traceroute 2.1's command line and output, on NetStack. With no device it traces across a
// simulated dual-stack network built in memory (no root, no setup); with --tap or --pcap it traces for real.
var options = TracerouteOptions.Parse(args, out var error);
if (options is null)
{
    Console.Error.WriteLine(error);
    return 2;
}
if (options.Help)
{
    Console.Out.Write(TracerouteOptions.Usage);
    return 0;
}
if (options.Version)
{
    Console.Error.WriteLine(TracerouteOptions.VersionText);
    return 0;
}
if (options.ModuleHelp)
{
    Console.Error.Write(options.ModuleHelpText);
    return 0;
}
try
{
    return options.Tap is not null || options.Pcap is not null
        ? await DeviceRun.RunAsync(options, Console.Out).ConfigureAwait(false)
        : SimulatedRun.Run(options, Console.Out);
}
catch (TracerouteException e)
{
    Console.Error.WriteLine(e.Message);
    return e.ExitCode;
}
