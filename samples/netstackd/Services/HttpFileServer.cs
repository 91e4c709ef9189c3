using System.Buffers;
using System.Globalization;
using System.Text;
using NetStack.Sockets;

namespace NetStack.Samples.Netstackd.Services;

/// <summary>
/// A small HTTP/1.1 static-file server (RFC 9110 / RFC 9112): GET and HEAD, a single byte Range (206 / 416),
/// persistent connections (keep-alive, pipelined requests answered in order), Content-Length on every response,
/// and request targets confined to the root (<see cref="SafePath"/>).
/// </summary>
public sealed class HttpFileServer(AsyncTcpListener listener, ServiceLog log, string root) : TcpService("http", listener, log)
{
    private const int MaxHead = 16 * 1024;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);
    private readonly string _root = Path.GetFullPath(root);

    protected override async Task<string?> HandleAsync(TcpConnectionStream connection, Counts counts, CancellationToken stop)
    {
        using var reader = new HeadReader(connection, counts);
        int requests = 0;
        var statuses = new StringBuilder();
        while (true)
        {
            string? head;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                idle.CancelAfter(IdleTimeout);
                try
                {
                    head = await reader.ReadHeadAsync(idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    break; // idle keep-alive connection
                }
                catch (InvalidDataException)
                {
                    await SendSimpleAsync(connection, counts, 431, "Request Header Fields Too Large", false, true, stop).ConfigureAwait(false);
                    statuses.Append(" 431");
                    break;
                }
            }
            if (head is null) break;
            requests++;
            Log.Request();
            var (status, keepAlive) = await RespondAsync(connection, reader, counts, head, stop).ConfigureAwait(false);
            statuses.Append(' ').Append(status);
            if (!keepAlive) break;
        }
        return string.Create(CultureInfo.InvariantCulture, $"requests={requests}{(statuses.Length > 0 ? " status" + statuses : "")}");
    }

    private async Task<(int Status, bool KeepAlive)> RespondAsync(TcpConnectionStream c, HeadReader reader, Counts counts, string head, CancellationToken stop)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0].Length == 0) return (await SendSimpleAsync(c, counts, 400, "Bad Request", false, true, stop).ConfigureAwait(false), false);
        string method = parts[0], target = parts[1], version = parts[2];
        bool http11 = version == "HTTP/1.1";
        if (!http11 && version != "HTTP/1.0")
            return (await SendSimpleAsync(c, counts, 505, "HTTP Version Not Supported", false, true, stop).ConfigureAwait(false), false);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < lines.Length; i++)
        {
            int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            // RFC 9112 §5.1: no whitespace between the field name and the colon.
            if (colon <= 0 || char.IsWhiteSpace(lines[i][colon - 1])) return (await SendSimpleAsync(c, counts, 400, "Bad Request", false, true, stop).ConfigureAwait(false), false);
            headers[lines[i][..colon]] = lines[i][(colon + 1)..].Trim();
        }
        string connection = headers.GetValueOrDefault("Connection", "");
        // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
        bool keepAlive = http11 ? !HasToken(connection, "close") : HasToken(connection, "keep-alive");
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
        if (http11 && !headers.ContainsKey("Host")) return (await SendSimpleAsync(c, counts, 400, "Bad Request", false, true, stop).ConfigureAwait(false), false);
        if (headers.ContainsKey("Transfer-Encoding")) return (await SendSimpleAsync(c, counts, 501, "Not Implemented", false, true, stop).ConfigureAwait(false), false);
        if (headers.TryGetValue("Content-Length", out var cl))
        {
            if (!long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out long bodyLength))
                return (await SendSimpleAsync(c, counts, 400, "Bad Request", false, true, stop).ConfigureAwait(false), false);
            await reader.SkipAsync(bodyLength, stop).ConfigureAwait(false); // a body on GET/HEAD has no meaning here
        }
        bool head_ = method == "HEAD";
        if (method != "GET" && !head_)
            return (await SendSimpleAsync(c, counts, 405, "Method Not Allowed", head_, keepAlive, stop, "Allow: GET, HEAD\r\n").ConfigureAwait(false), keepAlive);

        // RFC 9112 §3.2.2: accept the absolute form too.
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            int slash = target.IndexOf('/', "http://".Length);
            target = slash < 0 ? "/" : target[slash..];
        }
        var path = SafePath.Resolve(_root, target);
        if (path is null) return (await SendSimpleAsync(c, counts, 403, "Forbidden", head_, keepAlive, stop).ConfigureAwait(false), keepAlive);
        if (Directory.Exists(path)) path = Path.Join(path, "index.html");
        var info = new FileInfo(path);
        if (!info.Exists) return (await SendSimpleAsync(c, counts, 404, "Not Found", head_, keepAlive, stop).ConfigureAwait(false), keepAlive);

        long length = info.Length;
        var modified = info.LastWriteTimeUtc;
        string etag = string.Create(CultureInfo.InvariantCulture, $"\"{length:x}-{modified.Ticks:x}\"");
        string lastModified = modified.ToString("R", CultureInfo.InvariantCulture);
        string? range = headers.GetValueOrDefault("Range");
        // RFC 9110 §13.1.5: with If-Range, honour Range only when the validator still matches.
        if (range is not null && headers.TryGetValue("If-Range", out var ifRange) && ifRange != etag && ifRange != lastModified) range = null;
        var kind = HttpRange.Parse(range, length, out long first, out long last);
        var common = $"Accept-Ranges: bytes\r\nLast-Modified: {lastModified}\r\nETag: {etag}\r\n";
        if (kind == RangeKind.Unsatisfiable)
            return (await SendSimpleAsync(c, counts, 416, "Range Not Satisfiable", head_, keepAlive, stop, $"Content-Range: bytes */{length}\r\n" + common, empty: true).ConfigureAwait(false), keepAlive);
        int status = kind == RangeKind.Partial ? 206 : 200;
        long count = kind == RangeKind.Partial ? last - first + 1 : length;
        var extra = common + (kind == RangeKind.Partial ? $"Content-Range: bytes {first}-{last}/{length}\r\n" : "");
        await WriteHeadAsync(c, counts, status, kind == RangeKind.Partial ? "Partial Content" : "OK", ContentType(path), count, keepAlive, http11, extra, stop).ConfigureAwait(false);
        if (!head_) await SendFileAsync(c, counts, path, kind == RangeKind.Partial ? first : 0, count, stop).ConfigureAwait(false);
        return (status, keepAlive);
    }

    private static async Task SendFileAsync(TcpConnectionStream c, Counts counts, string path, long offset, long count, CancellationToken stop)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0)
            {
                int n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, (int)Math.Min(64 * 1024, count)), offset, stop).ConfigureAwait(false);
                if (n == 0) throw new IOException("the file shrank while it was being sent");
                await c.WriteAsync(buffer.AsMemory(0, n), stop).ConfigureAwait(false);
                counts.Out += n;
                offset += n;
                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<int> SendSimpleAsync(TcpConnectionStream c, Counts counts, int status, string reason, bool head, bool keepAlive,
        CancellationToken stop, string extra = "", bool empty = false)
    {
        var body = empty ? [] : Encoding.ASCII.GetBytes($"{status} {reason}\n");
        await WriteHeadAsync(c, counts, status, reason, "text/plain; charset=utf-8", body.Length, keepAlive, true, extra, stop).ConfigureAwait(false);
        if (!head && body.Length > 0)
        {
            await c.WriteAsync(body, stop).ConfigureAwait(false);
            counts.Out += body.Length;
        }
        return status;
    }

    private static async Task WriteHeadAsync(TcpConnectionStream c, Counts counts, int status, string reason, string contentType, long contentLength,
        bool keepAlive, bool http11, string extra, CancellationToken stop)
    {
        var sb = new StringBuilder(256);
        sb.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n");
        sb.Append("Server: netstackd\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Date: {DateTime.UtcNow.ToString("R", CultureInfo.InvariantCulture)}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Content-Length: {contentLength}\r\n");
        sb.Append(extra);
        if (!keepAlive) sb.Append("Connection: close\r\n");
        else if (!http11) sb.Append("Connection: keep-alive\r\n");
        sb.Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(sb.ToString());
        await c.WriteAsync(bytes, stop).ConfigureAwait(false);
        counts.Out += bytes.Length;
    }

    private static bool HasToken(string header, string token)
    {
        foreach (var t in header.Split(',')) if (t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static string ContentType(string path) => Path.GetExtension(path).ToUpperInvariant() switch
    {
        ".HTML" or ".HTM" => "text/html; charset=utf-8",
        ".TXT" => "text/plain; charset=utf-8",
        ".CSS" => "text/css",
        ".JS" => "text/javascript",
        ".JSON" => "application/json",
        ".PNG" => "image/png",
        ".JPG" or ".JPEG" => "image/jpeg",
        ".SVG" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    /// <summary>
    /// Reads request heads (up to the empty line) from a connection, keeping bytes that follow for the next request. Its
    /// buffer is rented from the pool while bytes are kept and returned when none are: an idle keep-alive connection waits
    /// with a zero-byte read and holds no buffer.
    /// </summary>
    private sealed class HeadReader(TcpConnectionStream stream, Counts counts) : IDisposable
    {
        private byte[] _buffer = [];
        private int _start, _end;

        public void Dispose() => ReleaseIfEmpty(force: true);

        private void ReleaseIfEmpty(bool force = false)
        {
            if ((_start != _end && !force) || _buffer.Length == 0) return;
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _start = _end = 0;
        }

        private async Task EnsureBufferAsync(CancellationToken token)
        {
            if (_buffer.Length != 0) return;
            await stream.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false); // wait for data without a buffer
            _buffer = ArrayPool<byte>.Shared.Rent(MaxHead);
        }

        /// <summary>The next head without its final CRLFCRLF; null at a clean end of stream; <see cref="InvalidDataException"/> when too long.</summary>
        public async Task<string?> ReadHeadAsync(CancellationToken token)
        {
            while (true)
            {
                ReleaseIfEmpty();
                await EnsureBufferAsync(token).ConfigureAwait(false);
                int at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
                if (at >= 0)
                {
                    var head = Encoding.Latin1.GetString(_buffer, _start, at);
                    _start += at + 4;
                    // RFC 9112 §2.2: ignore at least one empty line before a request-line.
                    return head.TrimStart('\r', '\n');
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == MaxHead) throw new InvalidDataException("request head too long");
                int n = await stream.ReadAsync(_buffer.AsMemory(_end, MaxHead - _end), token).ConfigureAwait(false);
                if (n == 0) return null;
                counts.In += n;
                _end += n;
            }
        }

        public async Task SkipAsync(long count, CancellationToken token)
        {
            if (count <= _end - _start)
            {
                _start += (int)count;
                return;
            }
            count -= _end - _start;
            _start = _end = 0;
            while (count > 0)
            {
                await EnsureBufferAsync(token).ConfigureAwait(false);
                int n = await stream.ReadAsync(_buffer.AsMemory(0, (int)Math.Min(MaxHead, count)), token).ConfigureAwait(false);
                if (n == 0) return;
                counts.In += n;
                count -= n;
            }
        }
    }
}
