namespace NetStack.Samples.Traceroute;

/// <summary>A one-line reason the tool cannot run, and the exit code to leave with.</summary>
public sealed class TracerouteException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
