using NetStack.Link;

namespace NetStack.Simulation;

/// <summary>A node the <see cref="Simulator"/> drives: an <see cref="IPollable"/> and the devices whose input wakes it.</summary>
public sealed class SimulatedNode
{
    internal SimulatedNode(string name, IPollable node, IReadOnlyList<INetDevice> devices, int index)
    {
        Name = name;
        Node = node;
        Devices = devices;
        Index = index;
    }

    /// <summary>The node's name (for traces).</summary>
    public string Name { get; }
    /// <summary>What the simulator polls.</summary>
    public IPollable Node { get; }

    /// <summary>The node's devices; those that are <see cref="ITimedDevice"/> tell the scheduler when input is pending.</summary>
    public IReadOnlyList<INetDevice> Devices { get; }

    /// <summary>Registration order, which is also the polling order within one instant.</summary>
    public int Index { get; }

    /// <summary>What the node's last <see cref="IPollable.Poll"/> returned (polled at the start of the first run).</summary>
    public Instant Deadline { get; internal set; } = new(long.MinValue);

    /// <summary>How many times the node has been polled.</summary>
    public long Polls { get; internal set; }

    /// <summary>When the node is next due: its deadline or the earliest pending arrival on its devices.</summary>
    public Instant Due
    {
        get
        {
            var due = Deadline;
            var devices = Devices;
            for (int i = 0; i < devices.Count; i++)
            {
                if (devices[i] is ITimedDevice t)
                {
                    var a = t.NextArrival;
                    if (a < due) due = a;
                }
            }
            return due;
        }
    }

    /// <summary>Name, next deadline and poll count.</summary>
    public override string ToString() => $"{Name} (deadline {Deadline}, polls {Polls})";
}
