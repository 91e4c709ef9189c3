using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NetStack.Interop.Tests.Support;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Tap;

/// <summary>The event loop: one thread, prompt stop, work marshalled in, failures contained.</summary>
public sealed class StackHostTests
{
    [SkippableFact]
    public async Task Stopping_a_host_blocked_on_an_idle_TAP_wakes_its_poll_at_once()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "link", "set", "dev", tap.Name, "down"); // idle: not even IPv6 chatter
        var node = new RecordingNode(tap);
        var host = new StackHost(node, [tap]);
        host.Start();
        await host.InvokeAsync(() => { });
        await Task.Delay(100); // let it settle into poll() with no deadline

        // The loop sleeps in poll() with no timeout, so only the stop's eventfd write can end it: any finite bound proves
        // the wake-up. The wait is synchronous (the task's completion sets the waiting thread's event directly), so what
        // is measured is the loop's exit, not how soon a busy thread pool would run an await's continuation.
        var clock = Stopwatch.StartNew();
#pragma warning disable xUnit1031 // deliberately synchronous: see above
        bool stopped = host.StopAsync().Wait(TimeSpan.FromSeconds(3));
#pragma warning restore xUnit1031
        clock.Stop();

        Assert.True(stopped, $"the loop did not leave its idle poll() within {clock.ElapsedMilliseconds} ms of StopAsync");
        Assert.True(host.Completion.IsCompleted);
        await host.DisposeAsync();
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task A_frame_arriving_on_the_TAP_wakes_the_loop_which_polls_the_node()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", tap.Name);
        var node = new RecordingNode(tap);
        await using var host = new StackHost(node, [tap]);
        host.Start();

        // The kernel resolves 192.0.2.9 with an ARP request: it must reach the node without any deadline.
        var ping = lab.StartIn(ns, "ping", "-n", "-c", "1", "-W", "1", "192.0.2.9");
        var clock = Stopwatch.StartNew();
        byte[]? request = null;
        while (request is null && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            request = node.Frames.FirstOrDefault(f => TestFrames.ParseArp(f) is { Op: TestFrames.ArpRequest } a && a.Tpa == Ipv4Address.Parse("192.0.2.9"));
            await Task.Delay(10);
        }
        Assert.NotNull(request);
        await host.StopAsync();
        lab.DisposeAndAssertClean();
    }

    [Fact]
    public async Task A_throwing_work_item_is_logged_and_the_loop_keeps_running()
    {
        var logger = new ListLogger();
        await using var host = new StackHost(new RecordingNode(), [], logger);
        host.Start();

        host.Post(() => throw new InvalidOperationException("boom"));
        int answer = await host.InvokeAsync(() => 42);

        Assert.Equal(42, answer);
        Assert.Equal(1, host.WorkItemExceptions);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException { Message: "boom" });
    }

    [Fact]
    public async Task An_exception_from_Poll_is_counted_and_the_loop_keeps_polling()
    {
        var logger = new ListLogger();
        var node = new RecordingNode { ThrowOnNextPoll = new InvalidOperationException("poll broke") };
        await using var host = new StackHost(node, [], logger);
        host.Start();
        await host.InvokeAsync(() => { });
        int before = Volatile.Read(ref node.Polls);
        // A work item runs before the poll of its turn: wake the loop until a later poll has happened (bounded).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((host.PollExceptions < 1 || Volatile.Read(ref node.Polls) <= before) && DateTime.UtcNow < deadline)
        {
            host.Wake();
            await Task.Delay(5);
        }

        Assert.Equal(1, host.PollExceptions);
        Assert.True(Volatile.Read(ref node.Polls) > before);
        Assert.Contains(logger.Entries, e => e.Exception is InvalidOperationException { Message: "poll broke" });
    }

    [Fact]
    public async Task InvokeAsync_runs_on_the_loop_thread_and_its_continuation_does_not()
    {
        var node = new RecordingNode();
        await using var host = new StackHost(node, []);
        host.Start();

        int loopThread = await host.InvokeAsync(() => Environment.CurrentManagedThreadId);
        int continuationThread = Environment.CurrentManagedThreadId;

        Assert.Equal(node.PollThreadId, loopThread);
        Assert.NotEqual(loopThread, continuationThread);
        Assert.True(await host.InvokeAsync(() => host.IsOnLoopThread));
    }

    [Fact]
    public async Task An_exception_from_invoked_work_faults_its_task()
    {
        await using var host = new StackHost(new RecordingNode(), []);
        host.Start();
        await Assert.ThrowsAsync<FormatException>(() => host.InvokeAsync<int>(() => throw new FormatException()));
        Assert.Equal(7, await host.InvokeAsync(() => 7));
    }

    [Fact]
    public async Task The_node_is_polled_again_at_the_deadline_it_asked_for()
    {
        var node = new RecordingNode();
        await using var host = new StackHost(node, []);
        host.Start();
        await host.InvokeAsync(() => node.TimerPeriod = TimeSpan.FromMilliseconds(20));
        int before = Volatile.Read(ref node.Polls);
        var clock = Stopwatch.StartNew();
        // Waits for the deadlines to cause polls (no work arrives to cause them), however slow a loaded machine is...
        while (Volatile.Read(ref node.Polls) - before < 5 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(10);
        int polls = Volatile.Read(ref node.Polls) - before;
        var elapsed = clock.Elapsed;
        Assert.True(polls >= 5, $"{polls} polls in {elapsed.TotalMilliseconds:F0} ms");
        // ...and they came at the deadlines, not from a spinning loop: one every 20 ms at most, plus a few turns.
        Assert.InRange(polls, 5, (int)(elapsed.TotalMilliseconds / 20) + 10);
    }

    [Fact]
    public async Task A_device_without_a_descriptor_is_polled_on_the_fallback_interval()
    {
        var device = new QueueDevice();
        var node = new RecordingNode(device);
        await using var host = new StackHost(node, [device], options: new StackHostOptions { FallbackPollInterval = TimeSpan.FromMilliseconds(2) });
        host.Start();
        await host.InvokeAsync(() => { });

        device.Inject(new byte[60]); // nobody calls Wake(): only the fallback interval finds it
        var clock = Stopwatch.StartNew();
        while (node.Frames.Length == 0 && clock.Elapsed < TimeSpan.FromSeconds(2)) await Task.Delay(1);

        Assert.Single(node.Frames);
    }

    [Fact]
    public async Task A_cancelled_invocation_does_not_run()
    {
        await using var host = new StackHost(new RecordingNode(), []);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        bool ran = false;
        host.Start();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.InvokeAsync(() => ran = true, cts.Token));
        await host.InvokeAsync(() => { });
        Assert.False(ran);
    }

    [Fact]
    public async Task Work_queued_after_stop_is_refused_and_queued_invocations_are_cancelled()
    {
        var host = new StackHost(new RecordingNode(), []);
        host.Start();
        await host.StopAsync();
        Assert.Throws<ObjectDisposedException>(() => host.Post(() => { }));
        Assert.Throws<ObjectDisposedException>(() => { _ = host.InvokeAsync(() => 1); });
        await host.DisposeAsync();
    }
}
