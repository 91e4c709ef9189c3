namespace NetStack.Interop.Tests.Support;

/// <summary>What a finished command printed and returned.</summary>
internal sealed record CommandResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}
