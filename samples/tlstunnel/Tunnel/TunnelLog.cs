using Microsoft.Extensions.Logging;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>The tunnel's log messages (one line per connection, configuration and control events).</summary>
public static partial class TunnelLog
{
    [LoggerMessage(1, LogLevel.Information,
        "https {Remote} name={Name} alpn={Alpn} backend={Backend} to_backend={ToBackend} to_client={ToClient} duration={DurationMs:F1}ms outcome={Outcome}")]
    public static partial void HttpsConnection(this ILogger logger, string remote, string name, string alpn, string backend, long toBackend, long toClient, double durationMs, string outcome);

    [LoggerMessage(2, LogLevel.Information, "http {Remote} requests={Requests} duration={DurationMs:F1}ms outcome={Outcome}")]
    public static partial void HttpConnection(this ILogger logger, string remote, int requests, double durationMs, string outcome);

    [LoggerMessage(3, LogLevel.Warning, "https {Remote}: unknown server name '{Name}', sent alert unrecognized_name")]
    public static partial void UnknownName(this ILogger logger, string remote, string name);

    [LoggerMessage(4, LogLevel.Information, "config: loaded {Path}: {Routes} routes, {Certificates} certificates")]
    public static partial void ConfigLoaded(this ILogger logger, string path, int routes, int certificates);

    [LoggerMessage(5, LogLevel.Error, "config: {Path} not loaded (keeping the previous configuration): {Reason}")]
    public static partial void ConfigRejected(this ILogger logger, string path, string reason);

    [LoggerMessage(6, LogLevel.Information, "control {Remote}: {Command} -> {Result}")]
    public static partial void ControlCommand(this ILogger logger, string remote, string command, string result);

    [LoggerMessage(7, LogLevel.Warning, "control {Remote}: refused ({Reason})")]
    public static partial void ControlRefused(this ILogger logger, string remote, string reason);

    [LoggerMessage(8, LogLevel.Information, "shutdown: stopped accepting; draining {Active} connections for up to {Seconds:F0} s")]
    public static partial void Draining(this ILogger logger, long active, double seconds);

    [LoggerMessage(9, LogLevel.Information, "shutdown: done, {Left} connections cut at the drain deadline")]
    public static partial void Drained(this ILogger logger, int left);

    [LoggerMessage(10, LogLevel.Information, "listening: {Service} on port {Port} ({Transport})")]
    public static partial void Listening(this ILogger logger, string service, int port, string transport);

    [LoggerMessage(11, LogLevel.Warning, "accept on port {Port} failed: {Reason}")]
    public static partial void AcceptFailed(this ILogger logger, int port, string reason);
}

/// <summary>A small console logger (one line per event, UTC time, level and category), so that the sample needs only the logging abstractions.</summary>
public sealed class ConsoleLoggerProvider(TextWriter output, LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, minimum, categoryName);

    public void Dispose() { }

    private sealed class Logger(TextWriter output, LogLevel minimum, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string level = logLevel switch
            {
                LogLevel.Trace => "trce", LogLevel.Debug => "dbug", LogLevel.Information => "info",
                LogLevel.Warning => "warn", LogLevel.Error => "fail", _ => "crit",
            };
            var line = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:HH:mm:ss.fff} {level} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
            lock (output)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }
    }
}

/// <summary>An <see cref="ILoggerFactory"/> over <see cref="ConsoleLoggerProvider"/> (for the stack's own log events).</summary>
public sealed class ConsoleLoggerFactory(TextWriter output, LogLevel minimum = LogLevel.Information) : ILoggerFactory
{
    private readonly ConsoleLoggerProvider _provider = new(output, minimum);

    public ILogger CreateLogger(string categoryName) => _provider.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() => _provider.Dispose();
}
