namespace NetStack.Link;

/// <summary>A frame held in a pooled buffer until <see cref="Due"/>; <see cref="Sequence"/> keeps equal due times in arrival order.</summary>
internal struct HeldFrame
{
    public byte[] Buffer;
    public int Length;
    public Instant Due;
    public long Sequence;
    public FrameReceiveInfo Info;

    public readonly ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
}
