using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Tap;

/// <summary>The lab itself: unique names, processes it started are killed, nothing is left behind.</summary>
public sealed class NetnsLabTests
{
    [SkippableFact]
    public void Dispose_kills_the_processes_it_started_and_removes_namespaces_and_links()
    {
        Root.Require();
        var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var (a, b) = lab.CreateVethPair(ns, null);
        var sleeper = lab.StartIn(ns, "sleep", "60");
        int pid = sleeper.Id;
        Assert.Contains(ns, NetnsLab.Run("ip", "netns", "list").StandardOutput, StringComparison.Ordinal);
        Assert.True(Directory.Exists($"/sys/class/net/{b}"));

        lab.Dispose();

        Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} still exists");
        Assert.Empty(lab.FindLeftovers());
        Assert.NotEqual(a, b);
    }

    [SkippableFact]
    public void Commands_run_inside_the_namespace_not_in_ours()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var (_, inside) = lab.CreateVethPair(null, ns);
        var links = NetnsLab.RunIn(ns, "ip", "-o", "link", "show").StandardOutput;
        Assert.Contains(inside, links, StringComparison.Ordinal);
        Assert.DoesNotContain("eth0", links, StringComparison.Ordinal);
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Two_labs_never_share_a_name()
    {
        Root.Require();
        using var one = new NetnsLab();
        using var two = new NetnsLab();
        Assert.NotEqual(one.CreateNamespace(), two.CreateNamespace());
        one.DisposeAndAssertClean();
        two.DisposeAndAssertClean();
    }
}
