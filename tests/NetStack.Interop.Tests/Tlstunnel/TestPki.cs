using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NetStack.Interop.Tests.Tlstunnel;

/// <summary>
/// A test certificate authority and server certificates it signs (CertificateRequest, ECDSA P-256), written as PEM files
/// the way an operator would have them: the CA for clients (<c>curl --cacert</c>), each server certificate with its key.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _ca;
    private readonly string _dir;

    public TestPki(string dir)
    {
        _dir = dir;
        var request = new CertificateRequest("CN=NetStack tlstunnel test CA", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        CaPath = Path.Combine(dir, "ca.pem");
        File.WriteAllText(CaPath, _ca.ExportCertificatePem());
    }

    /// <summary>The CA certificate (PEM) for clients.</summary>
    public string CaPath { get; }

    /// <summary>Issues a server certificate for <paramref name="dnsNames"/>; returns the certificate and key paths.</summary>
    public (string Certificate, string Key) Issue(string fileName, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in dnsNames) san.AddDnsName(n);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(3), serial);
        var certPath = Path.Combine(_dir, fileName + ".pem");
        var keyPath = Path.Combine(_dir, fileName + ".key");
        // The chain file: leaf first, then the issuer (what servers send).
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n" + _ca.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
    }
}
