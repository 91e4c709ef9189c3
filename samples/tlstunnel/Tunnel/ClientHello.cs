using System.Buffers.Binary;
using System.Text;
using NetStack.Samples.Tlstunnel.Config;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>
/// What the tunnel needs from a TLS ClientHello before the handshake: the server name (RFC 6066 §3) and the offered ALPN
/// protocols (RFC 7301 §3.1), which <see cref="System.Net.Security.SslClientHelloInfo"/> does not expose. The bytes read
/// are kept (<see cref="Raw"/>) and replayed to <see cref="System.Net.Security.SslStream"/>.
/// </summary>
public sealed record ClientHello(string? ServerName, IReadOnlyList<string> Alpn, byte[] Raw)
{
    /// <summary>RFC 8446 §5.1: a record's plaintext is at most 2^14 bytes.</summary>
    public const int MaxRecord = 1 << 14;

    /// <summary>A ClientHello larger than this is refused (post-quantum key shares make them ~1.5 KB today).</summary>
    public const int MaxMessage = 1 << 16;

    /// <summary>TLS alert descriptions we send (RFC 8446 §6.2, RFC 6066 §3, RFC 7301 §3.2).</summary>
    public const byte AlertDecodeError = 50, AlertInternalError = 80, AlertUnrecognizedName = 112, AlertNoApplicationProtocol = 120,
        AlertUnexpectedMessage = 10, AlertHandshakeFailure = 40;

    /// <summary>A fatal alert record (RFC 8446 §5.1, §6: level fatal = 2; the legacy record version 0x0303).</summary>
    public static byte[] Alert(byte description) => [21, 3, 3, 0, 2, 2, description];

    /// <summary>Reads records until one complete ClientHello; returns null with an alert to send when the bytes are not one.</summary>
    public static async Task<(ClientHello? Hello, byte Alert, string Reason)> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var raw = new MemoryStream();
        var message = new MemoryStream();
        var header = new byte[5];
        int need = -1;
        while (need < 0 || message.Length < need)
        {
            if (!await ReadExactlyAsync(stream, header, cancellationToken).ConfigureAwait(false))
                return (null, 0, raw.Length == 0 ? "closed" : "truncated");
            // RFC 8446 §5.1: handshake records; legacy_record_version 0x0301..0x0303 (we take any 3.x).
            if (header[0] != 22) return (null, AlertUnexpectedMessage, $"not a handshake record (type {header[0]})");
            if (header[1] != 3) return (null, AlertDecodeError, "not a TLS record version");
            int length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3));
            if (length is 0 or > MaxRecord) return (null, AlertDecodeError, $"record length {length}");
            var body = new byte[length];
            if (!await ReadExactlyAsync(stream, body, cancellationToken).ConfigureAwait(false)) return (null, 0, "truncated");
            raw.Write(header);
            raw.Write(body);
            message.Write(body);
            if (need < 0 && message.Length >= 4)
            {
                var m = message.GetBuffer();
                if (m[0] != 1) return (null, AlertUnexpectedMessage, $"handshake type {m[0]} before ClientHello");
                need = 4 + ((m[1] << 16) | (m[2] << 8) | m[3]);
                if (need > MaxMessage) return (null, AlertDecodeError, $"ClientHello of {need} bytes");
            }
        }
        var parsed = Parse(message.GetBuffer().AsSpan(4, need - 4), out string reason);
        if (parsed is null) return (null, AlertDecodeError, reason);
        // Bytes after the ClientHello in the last record (a coalesced next message) are replayed with it.
        return (parsed with { Raw = raw.ToArray() }, 0, "");
    }

    private static async Task<bool> ReadExactlyAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(got), cancellationToken).ConfigureAwait(false);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }

    /// <summary>Parses a ClientHello body (RFC 8446 §4.1.2, the same layout as TLS 1.2's RFC 5246 §7.4.1.2).</summary>
    public static ClientHello? Parse(ReadOnlySpan<byte> body, out string reason)
    {
        reason = "";
        var r = new Reader(body);
        if (!r.Skip(2 + 32)) return Fail("short ClientHello", out reason);                 // legacy_version, random
        if (!r.Vector(1, out var sessionId) || sessionId.Length > 32) return Fail("session id", out reason);
        if (!r.Vector(2, out var suites) || suites.Length == 0 || suites.Length % 2 != 0) return Fail("cipher suites", out reason);
        if (!r.Vector(1, out var compression) || compression.Length == 0) return Fail("compression methods", out reason);
        string? serverName = null;
        var alpn = new List<string>();
        if (r.Remaining == 0) return new ClientHello(null, alpn, []);                         // no extensions (TLS 1.2 allows it)
        if (!r.Vector(2, out var extensions) || r.Remaining != 0) return Fail("extensions length", out reason);
        var e = new Reader(extensions);
        var seen = new HashSet<ushort>();
        while (e.Remaining > 0)
        {
            if (!e.U16(out ushort type) || !e.Vector(2, out var data)) return Fail("extension", out reason);
            // RFC 8446 §4.2: no extension type twice.
            if (!seen.Add(type)) return Fail($"extension {type} twice", out reason);
            if (type == 0)
            {
                // RFC 6066 §3: ServerNameList; one host_name (type 0).
                var d = new Reader(data);
                if (!d.Vector(2, out var list) || d.Remaining != 0 || list.Length == 0) return Fail("server_name list", out reason);
                var l = new Reader(list);
                while (l.Remaining > 0)
                {
                    if (!l.U8(out byte nameType) || !l.Vector(2, out var name)) return Fail("server_name entry", out reason);
                    if (nameType != 0) continue;
                    if (serverName is not null) return Fail("two host_names", out reason);
                    serverName = ServerNames.Normalize(Encoding.ASCII.GetString(name));
                    if (serverName is null || name.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e) >= 0) return Fail("server_name is not a host name", out reason);
                }
            }
            else if (type == 16)
            {
                // RFC 7301 §3.1: ProtocolNameList, each 1..255 bytes.
                var d = new Reader(data);
                if (!d.Vector(2, out var list) || d.Remaining != 0 || list.Length == 0) return Fail("ALPN list", out reason);
                var l = new Reader(list);
                while (l.Remaining > 0)
                {
                    if (!l.Vector(1, out var proto) || proto.Length == 0) return Fail("ALPN protocol", out reason);
                    alpn.Add(Encoding.ASCII.GetString(proto));
                }
            }
        }
        return new ClientHello(serverName, alpn, []);
    }

    private static ClientHello? Fail(string why, out string reason)
    {
        reason = why;
        return null;
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;
        public readonly int Remaining => _data.Length;

        public bool Skip(int n)
        {
            if (_data.Length < n) return false;
            _data = _data[n..];
            return true;
        }

        public bool U8(out byte value)
        {
            value = 0;
            if (_data.Length < 1) return false;
            value = _data[0];
            _data = _data[1..];
            return true;
        }

        public bool U16(out ushort value)
        {
            value = 0;
            if (_data.Length < 2) return false;
            value = BinaryPrimitives.ReadUInt16BigEndian(_data);
            _data = _data[2..];
            return true;
        }

        /// <summary>A vector with a <paramref name="lengthBytes"/>-byte length prefix.</summary>
        public bool Vector(int lengthBytes, out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_data.Length < lengthBytes) return false;
            int n = lengthBytes == 1 ? _data[0] : BinaryPrimitives.ReadUInt16BigEndian(_data);
            if (_data.Length < lengthBytes + n) return false;
            value = _data.Slice(lengthBytes, n);
            _data = _data[(lengthBytes + n)..];
            return true;
        }
    }
}

/// <summary>Replays the bytes already read (the ClientHello) before reading on from the connection; counts bytes written.</summary>
public sealed class ReplayStream(byte[] prefix, Stream inner) : Stream
{
    private int _offset;

    public long BytesWritten { get; private set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_offset < prefix.Length) return TakePrefix(buffer);
        return inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _offset < prefix.Length ? ValueTask.FromResult(TakePrefix(buffer.Span)) : inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int TakePrefix(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, prefix.Length - _offset);
        prefix.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        BytesWritten += buffer.Length;
        inner.Write(buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BytesWritten += buffer.Length;
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
