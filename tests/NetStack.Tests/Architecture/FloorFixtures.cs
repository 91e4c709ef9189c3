// Fixtures for FloorTests: a two-floor house the checker is run on. "Lower" types that reference "Upper" types
// are deliberate violations, each through a different kind of metadata (field, base type, IL body...).
#pragma warning disable CA1812, CA1822, CA1852, CS0649, IDE0051, IDE0052, CA1823, CA1034, CA1040, CA1051, CA2211

namespace NetStack.Tests.Architecture.FloorFixtures.Lower
{
    public class Base { }
    public interface IMarker { }
    public class Clean { public Base? Other; public int M() => new Clean().GetHashCode(); }
    internal sealed class FieldOfUpper { public Upper.UpperThing? Field; }
    internal sealed class DerivesFromUpper : Upper.UpperBase { }
    internal sealed class ImplementsUpper : Upper.IUpper { }
    internal sealed class ParameterOfUpper { public int M(Upper.UpperThing t) => t.GetHashCode(); }
    internal sealed class NewsUpperInBody { public object M() => new Upper.UpperThing(); }
    internal sealed class CallsUpperStaticInBody { public int M() => Upper.UpperThing.Answer(); }
    internal sealed class TypeofUpperInBody { public Type M() => typeof(Upper.UpperThing); }
    internal sealed class UpperInGenericArgumentInBody { public int M() => new List<Upper.UpperThing>().Count; }
    internal sealed class LambdaUsesUpper { public Func<int> M() => () => Upper.UpperThing.Answer(); }
}

namespace NetStack.Tests.Architecture.FloorFixtures.Upper
{
    public class UpperBase { }
    public interface IUpper { }
    public class UpperThing { public static int Answer() => 42; }
    public class UsesLower : Lower.Base, Lower.IMarker { public Lower.Clean Value { get; } = new(); }
}

namespace NetStack.Tests.Architecture.FloorFixtures.Casting
{
    // Discovers what an object can do by testing its type: each form the compiler has (is, as, a cast, a pattern).
    internal sealed class DiscoversByCasting
    {
        public bool IsMarker(object o) => o is Lower.IMarker;
        public Lower.Base? AsBase(object o) => o as Lower.Base;
        public Lower.Clean Cast(object o) => (Lower.Clean)o;
        public int Pattern(object o) => o is Upper.UpperThing t ? t.GetHashCode() : 0;
    }

    internal sealed class NeverCasts { public int M(Lower.Clean c) => c.M(); }
}
