using NetStack.Interop.Tests.Support;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Tap;

/// <summary>Opening failures are one-line <see cref="TapException"/>s a user can act on, not stack traces.</summary>
public sealed class TunTapErrorTests
{
    [SkippableFact]
    public void Attach_only_to_a_missing_interface_says_not_found()
    {
        Root.Require();
        string name = NetnsLab.NewLinkName('m');
        var ex = Assert.Throws<TapException>(() => new TapDevice(new TunTapOptions { Name = name, OpenMode = TunTapOpenMode.AttachOnly }));
        Assert.Equal(TapErrorKind.NotFound, ex.Kind);
        Assert.Contains($"'{name}' not found", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(Directory.Exists($"/sys/class/net/{name}"));
    }

    [SkippableFact]
    public void Without_CAP_NET_ADMIN_creating_a_TAP_says_to_run_as_root()
    {
        Root.Require();
        string name = NetnsLab.NewLinkName('r');
        var thrown = Capabilities.RunWithout(Capabilities.CAP_NET_ADMIN, () => new TapDevice(name).Dispose());
        var ex = Assert.IsType<TapException>(thrown);
        Assert.Equal(TapErrorKind.NotPermitted, ex.Kind);
        Assert.Equal($"opening TAP '{name}' needs CAP_NET_ADMIN (run as root)", ex.Message);
        Assert.False(Directory.Exists($"/sys/class/net/{name}"));
    }

    [Fact]
    public void A_name_longer_than_15_bytes_is_refused_before_any_system_call()
    {
        var ex = Assert.Throws<TapException>(() => new TapDevice("nst-this-is-too-long"));
        Assert.Equal(TapErrorKind.InvalidName, ex.Kind);
        Assert.Equal("TAP name 'nst-this-is-too-long' is too long: at most 15 characters", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("a:b")]
    public void A_name_the_kernel_would_refuse_is_refused_with_InvalidName(string name)
    {
        var ex = Assert.Throws<TapException>(() => new TunDevice(name));
        Assert.Equal(TapErrorKind.InvalidName, ex.Kind);
        Assert.StartsWith("TUN name", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_TAP_already_open_elsewhere_is_busy()
    {
        Root.Require();
        using var lab = new NetnsLab();
        string name = lab.CreatePersistentTunTap();
        using (var first = new TapDevice(new TunTapOptions { Name = name, BringUp = false }))
        {
            var ex = Assert.Throws<TapException>(() => new TapDevice(new TunTapOptions { Name = name, BringUp = false }));
            Assert.Equal(TapErrorKind.Busy, ex.Kind);
            Assert.Equal($"TAP '{name}' is busy: another process has it open", ex.Message);
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Opening_a_TAP_as_a_TUN_is_a_wrong_type()
    {
        Root.Require();
        using var lab = new NetnsLab();
        string name = lab.CreatePersistentTunTap("tap");
        var ex = Assert.Throws<TapException>(() => new TunDevice(new TunTapOptions { Name = name, BringUp = false }));
        Assert.Equal(TapErrorKind.WrongType, ex.Kind);
        Assert.Contains("is not a single-queue TUN device", ex.Message, StringComparison.Ordinal);
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Create_only_on_an_existing_name_says_it_exists()
    {
        Root.Require();
        using var lab = new NetnsLab();
        string name = lab.CreatePersistentTunTap();
        var ex = Assert.Throws<TapException>(() => new TapDevice(new TunTapOptions { Name = name, OpenMode = TunTapOpenMode.CreateOnly }));
        Assert.Equal(TapErrorKind.AlreadyExists, ex.Kind);
        lab.DisposeAndAssertClean();
    }
}
