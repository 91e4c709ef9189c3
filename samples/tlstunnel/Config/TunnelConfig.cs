using System.Text.Json;

namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>A certificate (PEM, leaf first, then its chain) and its private key (PEM), as paths.</summary>
public sealed record CertificateFiles(string Certificate, string Key);

/// <summary>
/// The configuration file (JSON):
/// <code>
/// {
///   "certificates": [ { "certificate": "wildcard.pem", "key": "wildcard.key" } ],
///   "default_name": "a.example.test",                  // optional: the name for ClientHellos without SNI
///   "routes": [
///     { "name": "a.example.test", "backend": "198.51.100.1:8001" },
///     { "name": "*.example.test", "backend": "127.0.0.1:8002", "via": "kernel" },
///     { "name": "h2.example.test", "alpn": "h2", "backend": "[2001:db8:1::1]:8443" }
///   ]
/// }
/// </code>
/// Relative paths are relative to the file's directory. <c>via</c> is <c>stack</c> (the default: the backend is reached
/// over the same NetStack stack) or <c>kernel</c> (over the host's kernel sockets). Parsing never throws: a bad file is
/// one reason.
/// </summary>
public sealed record TunnelConfig(IReadOnlyList<CertificateFiles> Certificates, IReadOnlyList<Route> Routes, string? DefaultName)
{
    public static TunnelConfig? Parse(string json, string baseDirectory, out string error)
    {
        error = "";
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { error = "the configuration is not a JSON object"; return null; }
            foreach (var p in root.EnumerateObject())
            {
                if (p.Name is not ("certificates" or "routes" or "default_name")) { error = $"unknown key '{p.Name}'"; return null; }
            }

            var certificates = new List<CertificateFiles>();
            if (!root.TryGetProperty("certificates", out var certs) || certs.ValueKind != JsonValueKind.Array || certs.GetArrayLength() == 0)
            {
                error = "'certificates' must be a non-empty array";
                return null;
            }
            foreach (var c in certs.EnumerateArray())
            {
                var cert = String(c, "certificate", out error);
                var key = String(c, "key", out var keyError);
                if (cert is null) return null;
                if (key is null) { error = keyError; return null; }
                certificates.Add(new CertificateFiles(Path.GetFullPath(cert, baseDirectory), Path.GetFullPath(key, baseDirectory)));
            }

            string? defaultName = null;
            if (root.TryGetProperty("default_name", out var dn))
            {
                defaultName = dn.ValueKind == JsonValueKind.String ? ServerNames.Normalize(dn.GetString()) : null;
                if (defaultName is null) { error = "'default_name' is not a host name"; return null; }
            }

            var routes = new List<Route>();
            if (root.TryGetProperty("routes", out var rs))
            {
                if (rs.ValueKind != JsonValueKind.Array) { error = "'routes' must be an array"; return null; }
                foreach (var r in rs.EnumerateArray())
                {
                    var route = ParseRoute(r, out error);
                    if (route is null) return null;
                    if (routes.Any(x => x.Name == route.Name && x.Alpn == route.Alpn))
                    {
                        error = $"route '{route.Name}'{(route.Alpn is null ? "" : " alpn " + route.Alpn)} is given twice";
                        return null;
                    }
                    routes.Add(route);
                }
            }
            return new TunnelConfig(certificates, routes, defaultName);
        }
        catch (JsonException e)
        {
            error = $"not valid JSON: {e.Message}";
            return null;
        }
    }

    private static Route? ParseRoute(JsonElement r, out string error)
    {
        error = "";
        if (r.ValueKind != JsonValueKind.Object) { error = "a route is not an object"; return null; }
        foreach (var p in r.EnumerateObject())
        {
            if (p.Name is not ("name" or "backend" or "via" or "alpn")) { error = $"route: unknown key '{p.Name}'"; return null; }
        }
        var rawName = String(r, "name", out error);
        if (rawName is null) return null;
        var name = ServerNames.NormalizePattern(rawName);
        if (name is null) { error = $"route name '{rawName}' is not a host name or *.wildcard"; return null; }
        var backendText = String(r, "backend", out error);
        if (backendText is null) return null;
        bool kernel = false;
        if (r.TryGetProperty("via", out var via))
        {
            switch (via.ValueKind == JsonValueKind.String ? via.GetString() : null)
            {
                case "stack": break;
                case "kernel": kernel = true; break;
                default: error = $"route '{name}': 'via' is 'stack' or 'kernel'"; return null;
            }
        }
        string? alpn = null;
        if (r.TryGetProperty("alpn", out var a))
        {
            alpn = a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (!IsAlpn(alpn)) { error = $"route '{name}': 'alpn' is not a protocol name (1 to 255 printable ASCII bytes)"; return null; }
        }
        var backend = Backend.Parse(backendText, kernel, out error);
        if (backend is null) { error = $"route '{name}': {error}"; return null; }
        return new Route(name, alpn, backend);
    }

    /// <summary>RFC 7301 §3.1: a protocol name is 1 to 255 bytes; we take printable ASCII.</summary>
    public static bool IsAlpn(string? alpn) =>
        alpn is { Length: >= 1 and <= 255 } && alpn.All(c => c is > ' ' and < (char)0x7f);

    private static string? String(JsonElement e, string key, out string error)
    {
        error = "";
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s)
            return s;
        error = $"'{key}' is missing or not a non-empty string";
        return null;
    }
}
