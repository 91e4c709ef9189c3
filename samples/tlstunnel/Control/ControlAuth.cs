using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NetStack.Samples.Tlstunnel.Control;

/// <summary>Why a control request was refused (or <see cref="Ok"/>).</summary>
public enum AuthResult
{
    Ok,
    Malformed,
    StaleTimestamp,
    BadMac,
    ReplayedNonce,
    TooManyNonces,
}

/// <summary>
/// The control protocol's authentication. A request is one line
/// <c>v1 TIMESTAMP NONCE MAC COMMAND...</c>: TIMESTAMP in Unix seconds, NONCE 16 random bytes in hex, MAC the
/// HMAC-SHA256 (RFC 2104, FIPS 198-1) under the shared secret of <c>"tlstunnel-ctl v1\n" TIMESTAMP "\n" NONCE "\n" COMMAND</c>
/// in hex. The server refuses a timestamp more than <see cref="Window"/> away from its clock, a MAC that does not verify
/// (compared in constant time), and a nonce it has seen within the window (a replay: an older one is refused by its
/// timestamp). Nonces are remembered only after the MAC verified, so unauthenticated traffic cannot fill the cache.
/// </summary>
public sealed class ControlAuth
{
    public const string Version = "v1";
    private const int NonceHexLength = 32;
    private readonly byte[] _secret;
    private readonly Func<DateTimeOffset> _clock;
    private readonly Dictionary<string, long> _nonces = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ControlAuth(byte[] secret, TimeSpan? window = null, Func<DateTimeOffset>? clock = null, int maxNonces = 100_000)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 16) throw new ArgumentException("the shared secret must be at least 16 bytes", nameof(secret));
        _secret = secret;
        Window = window ?? TimeSpan.FromSeconds(30);
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        MaxNonces = maxNonces;
    }

    public TimeSpan Window { get; }
    public int MaxNonces { get; }

    /// <summary>Reads a secret file: its bytes, without trailing white space; null with a reason when too short or unreadable.</summary>
    public static byte[]? ReadSecretFile(string path, out string error)
    {
        error = "";
        try
        {
            var bytes = File.ReadAllBytes(path);
            int n = bytes.Length;
            while (n > 0 && bytes[n - 1] is (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t') n--;
            if (n < 16) { error = $"{path}: the secret is shorter than 16 bytes"; return null; }
            return bytes[..n];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path}: {e.Message}";
            return null;
        }
    }

    /// <summary>The MAC of a request, in lower-case hex.</summary>
    public static string Mac(byte[] secret, long timestamp, string nonce, string command)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"tlstunnel-ctl {Version}\n{timestamp}\n{nonce}\n{command}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>A signed request line (without the newline) for <paramref name="command"/>, with a fresh nonce.</summary>
    public static string Sign(byte[] secret, string command, DateTimeOffset now)
    {
        long ts = now.ToUnixTimeSeconds();
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(NonceHexLength / 2));
        return string.Create(CultureInfo.InvariantCulture, $"{Version} {ts} {nonce} {Mac(secret, ts, nonce, command)} {command}");
    }

    /// <summary>Checks a request line; on <see cref="AuthResult.Ok"/>, <paramref name="command"/> is what it asks.</summary>
    public AuthResult Verify(string line, out string command)
    {
        command = "";
        var parts = line.Split(' ', 5);
        if (parts.Length != 5 || parts[0] != Version) return AuthResult.Malformed;
        if (!long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ts)) return AuthResult.Malformed;
        string nonce = parts[2];
        if (nonce.Length != NonceHexLength || !IsLowerHex(nonce)) return AuthResult.Malformed;
        if (parts[3].Length != 64 || !IsLowerHex(parts[3])) return AuthResult.Malformed;
        var now = _clock();
        long nowSeconds = now.ToUnixTimeSeconds();
        if (Math.Abs((double)nowSeconds - ts) > Window.TotalSeconds) return AuthResult.StaleTimestamp;
        var expected = Convert.FromHexString(Mac(_secret, ts, nonce, parts[4]));
        if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts[3]))) return AuthResult.BadMac;
        lock (_lock)
        {
            // A nonce is remembered until its timestamp leaves the window; after that the timestamp check refuses it.
            long forgetBefore = nowSeconds - (long)Math.Ceiling(Window.TotalSeconds) - 1;
            if (_nonces.Count >= MaxNonces)
            {
                foreach (var (k, v) in _nonces)
                    if (v < forgetBefore) _nonces.Remove(k);
            }
            if (_nonces.ContainsKey(nonce)) return AuthResult.ReplayedNonce;
            if (_nonces.Count >= MaxNonces) return AuthResult.TooManyNonces;
            _nonces[nonce] = ts;
        }
        command = parts[4];
        return AuthResult.Ok;
    }

    private static bool IsLowerHex(string s) => s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
