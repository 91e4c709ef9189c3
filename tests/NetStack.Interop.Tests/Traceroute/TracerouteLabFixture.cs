using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>One <see cref="TracerouteLab"/> for every test of the collection, built on first use (only as root) and
/// removed at the end, with the removal asserted: no namespace or link of it may remain.</summary>
public sealed class TracerouteLabFixture : IDisposable
{
    private TracerouteLab? _lab;

    internal TracerouteLab Lab => _lab ??= new TracerouteLab();

    public void Dispose()
    {
        if (_lab is null) return;
        _lab.DisposeAndAssertClean();
    }
}

/// <summary>The tests that share the traceroute lab run one after the other.</summary>
[CollectionDefinition(Name)]
public sealed class TracerouteLabCollection : ICollectionFixture<TracerouteLabFixture>
{
    public const string Name = "traceroute lab";
}
