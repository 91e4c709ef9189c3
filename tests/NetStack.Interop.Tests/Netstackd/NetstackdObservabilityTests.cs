using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>netstackd's stack logs through the logger factory it is given and publishes the "NetStack" meter (no root needed: an in-memory link).</summary>
public sealed class NetstackdObservabilityTests
{
    [Fact]
    public async Task The_netstackd_stack_logs_and_publishes_the_NetStack_meter()
    {
        var logged = new ConcurrentQueue<string>();
        using (var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new QueueProvider(logged))))
        {
            using var link = new IpStackLink();
            // A stack name of our own so that other tests' stacks (also tagged "netstackd") do not count here.
            string name = $"nsd-obs-{Guid.NewGuid():N}";
            var frames = new ConcurrentDictionary<string, long>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IpStackMetrics.MeterName && instrument.Name == "netstack.link.frames") l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? stack = null, direction = null;
                foreach (var t in tags)
                {
                    if (t.Key == "netstack.stack.name") stack = t.Value as string;
                    else if (t.Key == "network.io.direction") direction = t.Value as string;
                }
                if (stack == name && direction is not null) frames[direction] = value;
            });
            listener.Start();

            await using (var a = new NetstackdStack(link.A, Config("198.51.100.3/24"), new NetstackdStackOptions { LoggerFactory = factory, Name = name }))
            await using (var b = new NetstackdStack(link.B, Config("198.51.100.1/24"), new NetstackdStackOptions { EnableMetrics = false }))
            {
                Assert.NotNull(a.Ip.Metrics);
                Assert.Null(b.Ip.Metrics);
                await a.StartAsync();
                await b.StartAsync();
                await using var server = await a.Ip.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
                await using var client = await b.Ip.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
                await client.SendToAsync("hello"u8.ToArray(), new IPEndPoint(IPAddress.Parse("198.51.100.3"), 7));
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var r = await server.ReceiveFromAsync(new byte[64], timeout.Token);
                Assert.Equal(5, r.ReceivedBytes);
                listener.RecordObservableInstruments();
                Assert.True(frames.GetValueOrDefault("receive") >= 1, $"netstack.link.frames receive = {frames.GetValueOrDefault("receive")}");
            }
        }
        // Disposing the factory flushed its providers: the stack's start and stop events went through it.
        Assert.Contains(logged, l => l.Contains(": up on", StringComparison.Ordinal));
        Assert.Contains(logged, l => l.Contains(": stopped after", StringComparison.Ordinal));
    }

    private static InterfaceConfig Config(string cidr) => new() { Name = "sim", Ipv4Addresses = [Ipv4Cidr.Parse(cidr)] };

    private sealed class QueueProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(lines);
        public void Dispose() { }
    }

    private sealed class QueueLogger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception));
    }
}
