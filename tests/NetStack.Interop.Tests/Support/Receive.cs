using System.Diagnostics;
using NetStack.Link;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Support;

/// <summary>Reads frames from a device until one matches or the time is up.</summary>
internal static class Receive
{
    public static byte[]? Until(INetDevice device, Func<byte[], bool> match, TimeSpan timeout)
    {
        var buffer = new byte[Math.Max(device.MaxFrameSize, 2048)];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            while (device.TryReceive(buffer, StackHost.Now, out int n))
            {
                var frame = buffer[..n];
                if (match(frame)) return frame;
            }
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) break;
            if (device is TunTapDevice t) t.WaitForFrames(left);
            else Thread.Sleep(5);
        }
        return null;
    }
}
