using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>
/// The configured certificates (PEM), each with the DNS names of its subject alternative names (or its CN when it has
/// none). SNI selects the first certificate with a name matching the requested one (exact or wildcard, RFC 6125 §6.4.3);
/// a name no certificate covers gets the first certificate.
/// </summary>
public sealed class CertificateStore : IDisposable
{
    private readonly List<(SslStreamCertificateContext Context, X509Certificate2 Leaf, string[] Names)> _entries = [];

    private CertificateStore() { }

    public IEnumerable<string> Describe() => _entries.Select(e => $"{e.Leaf.Subject} [{string.Join(' ', e.Names)}] until {e.Leaf.NotAfter:yyyy-MM-dd}");

    /// <summary>Loads every certificate and key; null with a reason when one cannot be read.</summary>
    public static CertificateStore? Load(IReadOnlyList<CertificateFiles> files, out string error)
    {
        error = "";
        var store = new CertificateStore();
        foreach (var f in files)
        {
            try
            {
                var leaf = X509Certificate2.CreateFromPemFile(f.Certificate, f.Key);
                var all = new X509Certificate2Collection();
                all.ImportFromPemFile(f.Certificate);
                var chain = new X509Certificate2Collection();
                foreach (var c in all)
                {
                    if (c.Thumbprint != leaf.Thumbprint) chain.Add(c);
                }
                var names = NamesOf(leaf);
                if (names.Length == 0)
                {
                    error = $"{f.Certificate}: the certificate names no DNS host";
                    store.Dispose();
                    return null;
                }
                store._entries.Add((SslStreamCertificateContext.Create(leaf, chain, offline: true), leaf, names));
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                error = $"{f.Certificate}: {e.Message}";
                store.Dispose();
                return null;
            }
        }
        return store;
    }

    /// <summary>The DNS names a certificate is for, normalised (RFC 6125 §6.4.4: the CN only when there are no DNS SANs).</summary>
    public static string[] NamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var ext in certificate.Extensions)
        {
            if (ext is X509SubjectAlternativeNameExtension san)
            {
                foreach (var n in san.EnumerateDnsNames())
                    if (ServerNames.NormalizePattern(n) is { } p) names.Add(p);
            }
        }
        if (names.Count == 0 && ServerNames.NormalizePattern(certificate.GetNameInfo(X509NameType.SimpleName, false)) is { } cn) names.Add(cn);
        return [.. names];
    }

    /// <summary>The certificate for <paramref name="serverName"/> (normalised), or the first one.</summary>
    public SslStreamCertificateContext Select(string? serverName)
    {
        if (serverName is not null)
        {
            foreach (var e in _entries)
                if (e.Names.Any(n => ServerNames.Matches(n, serverName))) return e.Context;
        }
        return _entries[0].Context;
    }

    public void Dispose()
    {
        // The contexts may still be in use by handshakes that took them before a reload: leave the certificates to the GC.
        _entries.Clear();
    }
}
