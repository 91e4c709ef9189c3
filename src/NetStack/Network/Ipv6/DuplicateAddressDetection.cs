namespace NetStack.Network.Ipv6;

/// <summary>What duplicate address detection wants done at a given instant.</summary>
internal enum DadStep
{
    /// <summary>Nothing is due.</summary>
    Wait,
    /// <summary>Send a DAD Neighbor Solicitation (source ::, destination the solicited-node group) carrying <see cref="DuplicateAddressDetection.CurrentNonce"/>.</summary>
    SendProbe,
    /// <summary>RetransTimer passed after the last probe without a conflict: the address may be used (RFC 4862 §5.4).</summary>
    Succeeded,
}

/// <summary>The meaning of a message about a tentative address.</summary>
internal enum DadVerdict
{
    /// <summary>Not evidence of a duplicate.</summary>
    Ignore,
    /// <summary>Another node uses or is trying to use the address.</summary>
    Duplicate,
}

/// <summary>
/// Duplicate address detection for one tentative address (RFC 4862 §5.4), with the RFC 7527 nonce that
/// tells our own looped-back solicitations from another node's. Pure: time comes in, steps come out.
/// </summary>
internal sealed class DuplicateAddressDetection
{
    /// <summary>RFC 7527 §4.1: the nonce option carries at least 6 random bytes.</summary>
    public const int NonceLength = 6;

    private const int MaxRememberedNonces = 8;
    private readonly ulong[] _nonces = new ulong[MaxRememberedNonces];
    private readonly IRandomSource _random;
    private readonly TimeSpan _retransTimer;
    private int _nonceCount;
    private int _probesLeft;

    /// <summary>
    /// Starts detection: <paramref name="transmits"/> is DupAddrDetectTransmits (RFC 4862 §5.1, default 1; 0 disables DAD),
    /// <paramref name="retransTimer"/> the wait after each probe, <paramref name="initialDelay"/> the RFC 4862 §5.4.2 random
    /// delay in [0, MAX_RTR_SOLICITATION_DELAY] before the first probe.
    /// </summary>
    public DuplicateAddressDetection(int transmits, TimeSpan retransTimer, TimeSpan initialDelay, IRandomSource random, Instant now)
    {
        _random = random;
        _retransTimer = retransTimer;
        _probesLeft = Math.Max(0, transmits);
        NextDeadline = now + initialDelay;
    }

    public Instant NextDeadline { get; private set; }

    /// <summary>The nonce of the probe last asked for (48 bits, sent big-endian).</summary>
    public ulong CurrentNonce { get; private set; }

    /// <summary>Probes sent so far.</summary>
    public int ProbesSent { get; private set; }

    public bool IsFinished { get; private set; }

    /// <summary>Advances the detection to <paramref name="now"/>.</summary>
    public DadStep Poll(Instant now)
    {
        if (IsFinished || now < NextDeadline) return DadStep.Wait;
        if (_probesLeft > 0)
        {
            _probesLeft--;
            ProbesSent++;
            CurrentNonce = _random.NextUInt64() & 0xFFFF_FFFF_FFFFUL;
            _nonces[_nonceCount++ % MaxRememberedNonces] = CurrentNonce;
            NextDeadline = now + _retransTimer;
            return DadStep.SendProbe;
        }
        IsFinished = true;
        NextDeadline = Instant.MaxValue;
        return DadStep.Succeeded;
    }

    /// <summary>RFC 7527 §4.2: a solicitation carrying a nonce we sent is our own, looped back.</summary>
    public bool IsOwnNonce(ulong nonce)
    {
        int n = Math.Min(_nonceCount, MaxRememberedNonces);
        for (int i = 0; i < n; i++)
            if (_nonces[i] == nonce) return true;
        return false;
    }

    /// <summary>
    /// A Neighbor Solicitation whose target is the tentative address (RFC 4862 §5.4.3).
    /// From a unicast source it is someone's address resolution: silently ignored. From the unspecified
    /// source it is another node's DAD, a duplicate, unless it carries one of our nonces (RFC 7527 §4.2).
    /// </summary>
    public DadVerdict OnSolicitation(bool sourceUnspecified, ulong? nonce)
    {
        if (IsFinished) return DadVerdict.Ignore;
        if (!sourceUnspecified) return DadVerdict.Ignore;
        if (nonce is { } n && IsOwnNonce(n)) return DadVerdict.Ignore;
        return Finish();
    }

    /// <summary>RFC 4862 §5.4.4: any Neighbor Advertisement for the tentative address means it is a duplicate.</summary>
    public DadVerdict OnAdvertisement() => IsFinished ? DadVerdict.Ignore : Finish();

    private DadVerdict Finish()
    {
        IsFinished = true;
        NextDeadline = Instant.MaxValue;
        return DadVerdict.Duplicate;
    }
}
