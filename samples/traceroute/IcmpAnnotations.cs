using System.Globalization;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>What an ICMP / ICMPv6 answer means to a probe, mapped exactly as Linux traceroute 2.1 maps codes.</summary>
public static class IcmpAnnotations
{
    /// <summary>
    /// Returns the annotation ("" for none) and whether the answer is final (ends the trace at this hop).
    /// Time exceeded in transit is the only non-final answer.
    /// </summary>
    public static (string Annotation, bool Final) Classify(IpVersion version, int type, int code, uint info)
    {
        string? s = null;
        if (version == IpVersion.V4)
        {
            if (type == 11) // time exceeded
            {
                if (code == 0) return ("", false);
            }
            else if (type == 3) // destination unreachable
            {
                s = code switch
                {
                    0 or 6 or 8 or 11 => "!N",
                    1 or 7 or 12 => "!H",
                    9 or 10 or 13 => "!X",
                    3 => "", // port unreachable: the destination was reached
                    2 => "!P",
                    4 => string.Create(CultureInfo.InvariantCulture, $"!F-{info}"),
                    5 => "!S",
                    14 => "!V",
                    15 => "!C",
                    _ => string.Create(CultureInfo.InvariantCulture, $"!<{code}>"),
                };
            }
        }
        else
        {
            if (type == 3) // time exceeded
            {
                if (code == 0) return ("", false);
            }
            else if (type == 1) // destination unreachable
            {
                s = code switch
                {
                    0 => "!N",
                    2 or 3 => "!H",
                    1 => "!X",
                    4 => "",
                    _ => string.Create(CultureInfo.InvariantCulture, $"!<{code}>"),
                };
            }
            else if (type == 2) // packet too big
            {
                s = string.Create(CultureInfo.InvariantCulture, $"!F-{info}");
            }
        }
        s ??= string.Create(CultureInfo.InvariantCulture, $"!<{type}-{code}>");
        return (s, true);
    }
}
