using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NetStack.Tests.Support;

/// <summary>Certificates for TLS over our TCP (SslStream, HttpClient, Kestrel), made on the spot.</summary>
internal static class TestCertificates
{
    /// <summary>
    /// A self-signed server certificate for <paramref name="name"/> (ECDSA P-256, the name as subject and DNS SAN, server
    /// authentication usage), valid from five minutes ago for an hour; exported and loaded again so that SslStream can
    /// use its private key on every platform.
    /// </summary>
    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}
