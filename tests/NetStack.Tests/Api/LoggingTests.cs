using System.Net;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>The events an <see cref="IpStack"/> logs.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Stopping_logs_the_frame_counts_and_every_nonzero_drop_reason()
    {
        var log = new ListLoggerFactory();
        await using var net = await StackPair.StartAsync(optionsB: new IpStackOptions { LoggerFactory = log });
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync(new byte[1], new IPEndPoint(StackPair.AddressB, 9)); // B: no socket on port 9
        await client.ReceiveErrorAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        await net.B.StopAsync();

        Assert.Contains(log.Lines, l => l.StartsWith("Information: B: up on", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.StartsWith("Information: B: stopped after", StringComparison.Ordinal) && l.Contains("frames in", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l == "Information: B: dropped 1 for UdpNoSocket");
    }
}
