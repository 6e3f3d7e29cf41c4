namespace FTGate.Samples;

/// <summary>
/// The rules for a provider's or account's name, the same on every path (web admin Add and Save, the CLI, and a configuration
/// file loaded from disk): the name is a configuration key and part of token store keys.
/// </summary>
/// <remarks>Shared by the web admin and the <c>ftgate</c> CLI (the file is linked into both projects).</remarks>
internal static class NameRules
{
    public const int MaxLength = 100;

    /// <summary>The problems with a name (empty when it is fine); each message names the item and says what to do.</summary>
    public static IReadOnlyList<string> Check(string kind, string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return [$"{kind} name is empty: give a name such as 'Company Email Account'."];
        }

        var problems = new List<string>();
        string shown = Printable(name);
        if (name.Length > MaxLength)
        {
            problems.Add($"{kind} '{shown[..Math.Min(shown.Length, 40)]}...': the name is {name.Length} characters long; use at most {MaxLength}.");
        }

        if (name.Any(char.IsControl))
        {
            problems.Add($"{kind} '{shown}': the name contains control characters; use letters, digits, spaces and punctuation other than ':' '/' '\\'.");
        }

        if (name.IndexOfAny([':', '/', '\\']) >= 0)
        {
            problems.Add($"{kind} '{shown}': the name may not contain ':' (the configuration key separator), '/' or '\\' (token store keys); choose another name.");
        }

        if (name.Trim().Length != name.Length)
        {
            problems.Add($"{kind} '{shown}': the name starts or ends with a space; remove it.");
        }

        return problems;
    }

    /// <summary>A name with control characters shown as escapes (for messages).</summary>
    public static string Printable(string value)
    {
        var text = new System.Text.StringBuilder(value.Length);
        foreach (char c in value)
        {
            text.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        }

        return text.ToString();
    }
}
