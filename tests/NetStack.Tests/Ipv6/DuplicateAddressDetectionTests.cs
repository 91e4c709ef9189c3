using NetStack.Network.Ipv6;

namespace NetStack.Tests.Ipv6;

public class DuplicateAddressDetectionTests
{
    private static readonly Instant T0 = Instant.FromSeconds(5);

    private static DuplicateAddressDetection New(int transmits = 1) =>
        new(transmits, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(300), new SeededRandom(1), T0);

    [Fact]
    public void Probe_after_the_initial_delay_then_success_after_RetransTimer_RFC4862_5_4()
    {
        var d = New();
        Assert.Equal(DadStep.Wait, d.Poll(T0));
        var t1 = T0 + TimeSpan.FromMilliseconds(300);
        Assert.Equal(DadStep.SendProbe, d.Poll(t1));
        Assert.Equal(DadStep.Wait, d.Poll(t1 + TimeSpan.FromMilliseconds(999)));
        Assert.Equal(DadStep.Succeeded, d.Poll(t1 + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void DupAddrDetectTransmits_probes_are_sent_RetransTimer_apart()
    {
        var d = New(3);
        var t = T0 + TimeSpan.FromMilliseconds(300);
        for (int i = 0; i < 3; i++, t += TimeSpan.FromSeconds(1)) Assert.Equal(DadStep.SendProbe, d.Poll(t));
        Assert.Equal(DadStep.Succeeded, d.Poll(t));
        Assert.Equal(3, d.ProbesSent);
    }

    [Fact]
    public void Solicitation_from_unspecified_source_is_a_duplicate_RFC4862_5_4_3()
    {
        var d = New();
        d.Poll(T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(DadVerdict.Duplicate, d.OnSolicitation(sourceUnspecified: true, nonce: 12345));
    }

    [Fact]
    public void Looped_back_solicitation_with_our_nonce_is_not_a_duplicate_RFC7527_4_2()
    {
        var d = New();
        d.Poll(T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(DadVerdict.Ignore, d.OnSolicitation(sourceUnspecified: true, nonce: d.CurrentNonce));
        Assert.False(d.IsFinished);
    }

    [Fact]
    public void Solicitation_from_a_unicast_source_is_ignored_RFC4862_5_4_3()
    {
        var d = New();
        Assert.Equal(DadVerdict.Ignore, d.OnSolicitation(sourceUnspecified: false, nonce: null));
    }

    [Fact]
    public void Advertisement_for_the_tentative_address_is_a_duplicate_RFC4862_5_4_4()
    {
        var d = New();
        Assert.Equal(DadVerdict.Duplicate, d.OnAdvertisement());
        Assert.Equal(DadStep.Wait, d.Poll(T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Zero_transmits_succeeds_without_probing()
    {
        var d = New(0);
        Assert.Equal(DadStep.Succeeded, d.Poll(T0 + TimeSpan.FromSeconds(1)));
    }
}
