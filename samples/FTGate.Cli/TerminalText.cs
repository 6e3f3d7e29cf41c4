using System.Text;

namespace FTGate.Cli;

/// <summary>
/// Text from servers (replies, error descriptions) is printed with its control characters escaped, so that a hostile
/// server cannot move the cursor, rewrite earlier lines with CR, change the terminal's title or colours (ESC sequences), or
/// reorder text with bidirectional overrides.
/// </summary>
internal static class TerminalText
{
    /// <summary>Escapes C0 and C1 control characters (except newline and tab), DEL and Unicode bidi controls as <c>\uXXXX</c> (CR as <c>\r</c>).</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        int i = 0;
        while (i < text.Length && !NeedsEscape(text, i))
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        escaped.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!NeedsEscape(text, i))
            {
                escaped.Append(c);
            }
            else if (c == '\r')
            {
                escaped.Append("\\r");
            }
            else
            {
                escaped.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }

    private static bool NeedsEscape(string text, int index)
    {
        char c = text[index];
        if (c == '\n' || c == '\t')
        {
            return false;
        }

        if (c == '\r')
        {
            // CR LF is a line ending (Environment.NewLine on Windows); a lone CR rewrites the line.
            return index + 1 >= text.Length || text[index + 1] != '\n';
        }

        return char.IsControl(c) || c is (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') or '\u200e' or '\u200f' or '\u061c';
    }
}

/// <summary>A writer that escapes control characters in everything written through it (the error output).</summary>
internal sealed class TerminalSafeWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override string NewLine
    {
        get => inner.NewLine;
#pragma warning disable CS8765 // matches the base's nullability contract: null means the default
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    public override void Write(char value) => inner.Write(TerminalText.Escape(value.ToString()));

    public override void Write(string? value) => inner.Write(TerminalText.Escape(value));

    public override void Write(char[] buffer, int index, int count) => inner.Write(TerminalText.Escape(new string(buffer, index, count)));

    public override void WriteLine(string? value) => inner.WriteLine(TerminalText.Escape(value));

    public override void WriteLine() => inner.WriteLine();

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        // The inner writer belongs to the caller.
    }
}
