namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>What a ClientHello's name and ALPN offer resolve to.</summary>
public enum RouteMatch
{
    /// <summary>A route was found (<see cref="RouteDecision.Route"/>).</summary>
    Found,
    /// <summary>No route for the name: TLS alert unrecognized_name (RFC 6066 §3).</summary>
    UnknownName,
    /// <summary>The name has only ALPN-specific routes and the client offered none of them: alert no_application_protocol (RFC 7301 §3.2).</summary>
    NoApplicationProtocol,
}

/// <summary>A lookup's result: the route and the ALPN protocol to select (null: none, the handshake negotiates no ALPN).</summary>
public readonly record struct RouteDecision(RouteMatch Match, Route? Route, string? Alpn);

/// <summary>
/// An immutable set of routes. A name is looked up among exact routes first, then among <c>*.</c> wildcard routes; among
/// a name's routes, those with an ALPN protocol the client offered come first (in configuration order: the server's
/// preference, RFC 7301 §3.2), then the route without ALPN.
/// </summary>
public sealed class RouteTable
{
    public RouteTable(IEnumerable<Route> routes) => Routes = [.. routes];

    public static RouteTable Empty { get; } = new([]);

    public IReadOnlyList<Route> Routes { get; }

    public RouteDecision Lookup(string name, IReadOnlyCollection<string> offeredAlpn)
    {
        var candidates = Routes.Where(r => !ServerNames.IsWildcard(r.Name) && r.Name == name).ToList();
        if (candidates.Count == 0) candidates = [.. Routes.Where(r => ServerNames.IsWildcard(r.Name) && ServerNames.Matches(r.Name, name))];
        if (candidates.Count == 0) return new RouteDecision(RouteMatch.UnknownName, null, null);
        foreach (var r in candidates)
            if (r.Alpn is not null && offeredAlpn.Contains(r.Alpn)) return new RouteDecision(RouteMatch.Found, r, r.Alpn);
        var plain = candidates.FirstOrDefault(r => r.Alpn is null);
        return plain is null
            ? new RouteDecision(RouteMatch.NoApplicationProtocol, null, null)
            : new RouteDecision(RouteMatch.Found, plain, null);
    }

    /// <summary>
    /// The live table: routes changed over the control protocol (<paramref name="control"/>) replace the file's for the
    /// same name and ALPN; names removed over the control protocol (<paramref name="removed"/>) hide the file's routes
    /// until the file is next reloaded.
    /// </summary>
    public static RouteTable Merge(IReadOnlyList<Route> file, IReadOnlyList<Route> control, IReadOnlySet<string> removed) =>
        new(control.Concat(file.Where(f => !removed.Contains(f.Name) && !control.Any(c => c.Name == f.Name && c.Alpn == f.Alpn))));
}
