using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace NetStack.Tests.Architecture;

/// <summary>One floor of the house: a name and the namespaces that live on it.</summary>
public sealed record Floor(string Name, params string[] Namespaces);

/// <summary>One reference from a type to a type, as the metadata records it; <paramref name="IsCast"/>: the type operand of a
/// type test or cast in a method body.</summary>
public sealed record TypeReference(string FromNamespace, string FromType, string ToNamespace, string ToType, string Where, bool IsCast)
{
    public override string ToString() => $"{FromType} -> {ToType} in {Where}";
}

/// <summary>A reference from a type on one floor to a type on a floor it may not see.</summary>
public sealed record FloorViolation(string FromType, string FromFloor, string ToType, string ToFloor, string Where)
{
    public override string ToString() => $"{FromType} ({FromFloor}) -> {ToType} ({ToFloor}) in {Where}";
}

/// <summary>
/// Reads a compiled assembly with System.Reflection.Metadata and reports every reference from a type to a type
/// on a higher floor. A floor may use its own floor and every floor below it, nothing above. References are taken
/// from everything the compiler records: base types, interfaces, generic constraints, field, method, property and
/// local-variable signatures, and the type, method and field tokens inside the IL of every method body (so a
/// <c>new Higher()</c> or a call hidden in a method body is caught as well as a field of a higher type).
/// Compiler-generated nested types (closures, state machines) count as their outermost declaring type.
/// </summary>
public sealed class FloorChecker
{
    private readonly IReadOnlyList<Floor> _floors;
    private readonly string _rootPrefix;

    /// <param name="floors">Bottom to top.</param>
    /// <param name="rootPrefix">Namespaces that must be on some floor (others, e.g. System, are ignored).</param>
    public FloorChecker(IReadOnlyList<Floor> floors, string rootPrefix)
    {
        _floors = floors;
        _rootPrefix = rootPrefix;
    }

    /// <summary>The floor index of <paramref name="ns"/> (longest matching namespace wins), -1 outside the checked prefix,
    /// or <see cref="int.MaxValue"/> for an unmapped namespace under the prefix.</summary>
    public int FloorOf(string ns)
    {
        if (ns != _rootPrefix && !ns.StartsWith(_rootPrefix + ".", StringComparison.Ordinal)) return -1;
        int best = int.MaxValue, bestLength = -1;
        for (int i = 0; i < _floors.Count; i++)
        {
            foreach (var n in _floors[i].Namespaces)
            {
                bool exact = n.EndsWith(".*", StringComparison.Ordinal) is false;
                string stem = exact ? n : n[..^2];
                bool match = exact ? ns == stem : ns == stem || ns.StartsWith(stem + ".", StringComparison.Ordinal);
                if (match && stem.Length > bestLength) { best = i; bestLength = stem.Length; }
            }
        }
        return best;
    }

    private string FloorName(int floor) => floor == int.MaxValue ? "unmapped" : _floors[floor].Name;

    /// <summary>Namespaces under the prefix that no floor claims.</summary>
    public IReadOnlyList<string> UnmappedNamespaces(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var h in md.TypeDefinitions)
        {
            var (ns, _) = TypeDefName(md, h);
            if (FloorOf(ns) == int.MaxValue) result.Add(ns);
        }
        return [.. result];
    }

    /// <summary>Every reference in <paramref name="assemblyPath"/> from a type to a type on a higher floor (or an unmapped namespace),
    /// optionally only for types whose full name starts with <paramref name="typePrefix"/>.</summary>
    public IReadOnlyList<FloorViolation> Check(string assemblyPath, string? typePrefix = null)
    {
        var seen = new HashSet<(string, string)>();
        var violations = new List<FloorViolation>();
        foreach (var r in References(assemblyPath))
        {
            if (typePrefix is not null && !r.FromType.StartsWith(typePrefix, StringComparison.Ordinal)) continue;
            int fromFloor = FloorOf(r.FromNamespace);
            if (fromFloor < 0 || fromFloor == int.MaxValue) continue; // outside the prefix, or reported by UnmappedNamespaces
            int toFloor = FloorOf(r.ToNamespace);
            if (toFloor < 0 || toFloor <= fromFloor) continue;
            if (!seen.Add((r.FromType, r.ToType))) continue;
            violations.Add(new FloorViolation(r.FromType, FloorName(fromFloor), r.ToType, FloorName(toFloor), r.Where));
        }
        return violations;
    }

    /// <summary>
    /// Every type-to-type reference in <paramref name="assemblyPath"/>, from the metadata the compiler records (see the
    /// class summary); <see cref="TypeReference.IsCast"/> marks the type operand of an <c>isinst</c>, <c>castclass</c>
    /// or <c>unbox.any</c> (what <c>x is T</c>, <c>x as T</c> and <c>(T)x</c> compile to).
    /// </summary>
    public static IReadOnlyList<TypeReference> References(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var provider = new TypeCollector(md);
        var result = new List<TypeReference>();

        foreach (var typeHandle in md.TypeDefinitions)
        {
            var (fromNs, fromName) = TypeDefName(md, typeHandle);
            var type = md.GetTypeDefinition(typeHandle);

            void Report(IEnumerable<(string Ns, string Name)> targets, string where, bool cast = false)
            {
                foreach (var (ns, name) in targets)
                    result.Add(new TypeReference(fromNs, fromName, ns, name, where, cast));
            }

            if (!type.BaseType.IsNil) Report(provider.FromEntity(type.BaseType), "base type");
            foreach (var ih in type.GetInterfaceImplementations())
                Report(provider.FromEntity(md.GetInterfaceImplementation(ih).Interface), "interface");
            foreach (var gp in type.GetGenericParameters())
                foreach (var c in md.GetGenericParameter(gp).GetConstraints())
                    Report(provider.FromEntity(md.GetGenericParameterConstraint(c).Type), "generic constraint");
            foreach (var fh in type.GetFields())
            {
                var f = md.GetFieldDefinition(fh);
                Report(f.DecodeSignature(provider, null), $"field {md.GetString(f.Name)}");
            }
            foreach (var ph in type.GetProperties())
            {
                var p = md.GetPropertyDefinition(ph);
                var sig = p.DecodeSignature(provider, null);
                Report(sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(t => t)), $"property {md.GetString(p.Name)}");
            }
            foreach (var eh in type.GetEvents())
            {
                var e = md.GetEventDefinition(eh);
                Report(provider.FromEntity(e.Type), $"event {md.GetString(e.Name)}");
            }
            foreach (var mh in type.GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                string where = $"method {md.GetString(m.Name)}";
                var sig = m.DecodeSignature(provider, null);
                Report(sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(t => t)), where + " signature");
                foreach (var gp in m.GetGenericParameters())
                    foreach (var c in md.GetGenericParameter(gp).GetConstraints())
                        Report(provider.FromEntity(md.GetGenericParameterConstraint(c).Type), where + " constraint");
                if (m.RelativeVirtualAddress == 0) continue;
                var body = pe.GetMethodBody(m.RelativeVirtualAddress);
                if (!body.LocalSignature.IsNil)
                {
                    var locals = md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null);
                    Report(locals.SelectMany(t => t), where + " locals");
                }
                foreach (var (opcode, token) in IlTokens(body.GetILReader()))
                {
                    bool cast = opcode == OpCodes.Isinst.Value || opcode == OpCodes.Castclass.Value || opcode == OpCodes.Unbox_Any.Value;
                    Report(provider.FromEntity(MetadataTokens.EntityHandle(token)), where + (cast ? " cast" : " body"), cast);
                }
            }
        }
        return result;
    }

    private static (string Ns, string FullName) TypeDefName(MetadataReader md, TypeDefinitionHandle handle)
    {
        var t = md.GetTypeDefinition(handle);
        // A nested type (including the closures and state machines the compiler makes) counts as its outermost type.
        while (t.IsNested) t = md.GetTypeDefinition(t.GetDeclaringType());
        string name = md.GetString(t.Name);
        string ns = md.GetString(t.Namespace);
        return (ns, ns.Length == 0 ? name : ns + "." + name);
    }

    private static readonly Dictionary<short, OperandType> s_operands = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>The metadata tokens (types, methods, fields, signatures) that the IL of one method body names, each with its opcode.</summary>
    internal static IEnumerable<(short OpCode, int Token)> IlTokens(BlobReader il)
    {
        var tokens = new List<(short, int)>();
        while (il.RemainingBytes > 0)
        {
            short value = il.ReadByte();
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il.ReadByte()));
            if (!s_operands.TryGetValue(value, out var operand))
                throw new InvalidOperationException($"unknown IL opcode 0x{value:X} at {il.Offset}");
            switch (operand)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: il.Offset += 1; break;
                case OperandType.InlineVar: il.Offset += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: il.Offset += 8; break;
                case OperandType.InlineSwitch: int n = il.ReadInt32(); il.Offset += 4 * n; break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    tokens.Add((value, il.ReadInt32())); break;
                default: il.Offset += 4; break; // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
            }
        }
        return tokens;
    }

    /// <summary>Decodes signatures into the list of (namespace, full name) of every type they name.</summary>
    private sealed class TypeCollector(MetadataReader md) : ISignatureTypeProvider<ImmutableArray<(string Ns, string Name)>, object?>
    {
        private static readonly ImmutableArray<(string, string)> None = [];

        public ImmutableArray<(string Ns, string Name)> FromEntity(EntityHandle handle)
        {
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    return [TypeDefName(md, (TypeDefinitionHandle)handle)];
                case HandleKind.TypeReference:
                    return [TypeRefName((TypeReferenceHandle)handle)];
                case HandleKind.TypeSpecification:
                    return md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                case HandleKind.FieldDefinition:
                {
                    var f = md.GetFieldDefinition((FieldDefinitionHandle)handle);
                    return [TypeDefName(md, f.GetDeclaringType()), .. f.DecodeSignature(this, null)];
                }
                case HandleKind.MethodDefinition:
                {
                    var m = md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    var sig = m.DecodeSignature(this, null);
                    return [TypeDefName(md, m.GetDeclaringType()), .. sig.ReturnType, .. sig.ParameterTypes.SelectMany(t => t)];
                }
                case HandleKind.MemberReference:
                {
                    var r = md.GetMemberReference((MemberReferenceHandle)handle);
                    var parent = r.Parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification
                        or HandleKind.MethodDefinition ? FromEntity(r.Parent) : None;
                    if (r.GetKind() == MemberReferenceKind.Field) return [.. parent, .. r.DecodeFieldSignature(this, null)];
                    var sig = r.DecodeMethodSignature(this, null);
                    return [.. parent, .. sig.ReturnType, .. sig.ParameterTypes.SelectMany(t => t)];
                }
                case HandleKind.MethodSpecification:
                {
                    var s = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    return [.. FromEntity(s.Method), .. s.DecodeSignature(this, null).SelectMany(t => t)];
                }
                default:
                    return None; // standalone signatures (calli) and strings name no type of ours
            }
        }

        private (string, string) TypeRefName(TypeReferenceHandle handle)
        {
            var r = md.GetTypeReference(handle);
            while (r.ResolutionScope.Kind == HandleKind.TypeReference) r = md.GetTypeReference((TypeReferenceHandle)r.ResolutionScope);
            string name = md.GetString(r.Name);
            string ns = md.GetString(r.Namespace);
            return (ns, ns.Length == 0 ? name : ns + "." + name);
        }

        public ImmutableArray<(string Ns, string Name)> GetArrayType(ImmutableArray<(string Ns, string Name)> elementType, ArrayShape shape) => elementType;
        public ImmutableArray<(string Ns, string Name)> GetByReferenceType(ImmutableArray<(string Ns, string Name)> elementType) => elementType;
        public ImmutableArray<(string Ns, string Name)> GetFunctionPointerType(MethodSignature<ImmutableArray<(string Ns, string Name)>> signature) =>
            [.. signature.ReturnType, .. signature.ParameterTypes.SelectMany(t => t)];
        public ImmutableArray<(string Ns, string Name)> GetGenericInstantiation(ImmutableArray<(string Ns, string Name)> genericType, ImmutableArray<ImmutableArray<(string Ns, string Name)>> typeArguments) =>
            [.. genericType, .. typeArguments.SelectMany(t => t)];
        public ImmutableArray<(string Ns, string Name)> GetGenericMethodParameter(object? genericContext, int index) => None;
        public ImmutableArray<(string Ns, string Name)> GetGenericTypeParameter(object? genericContext, int index) => None;
        public ImmutableArray<(string Ns, string Name)> GetModifiedType(ImmutableArray<(string Ns, string Name)> modifier, ImmutableArray<(string Ns, string Name)> unmodifiedType, bool isRequired) => unmodifiedType;
        public ImmutableArray<(string Ns, string Name)> GetPinnedType(ImmutableArray<(string Ns, string Name)> elementType) => elementType;
        public ImmutableArray<(string Ns, string Name)> GetPointerType(ImmutableArray<(string Ns, string Name)> elementType) => elementType;
        public ImmutableArray<(string Ns, string Name)> GetPrimitiveType(PrimitiveTypeCode typeCode) => None;
        public ImmutableArray<(string Ns, string Name)> GetSZArrayType(ImmutableArray<(string Ns, string Name)> elementType) => elementType;
        public ImmutableArray<(string Ns, string Name)> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [TypeDefName(md, handle)];
        public ImmutableArray<(string Ns, string Name)> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => [TypeRefName(handle)];
        public ImmutableArray<(string Ns, string Name)> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
