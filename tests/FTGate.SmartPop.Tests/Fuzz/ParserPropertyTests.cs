using System.Text;
using CsCheck;
using FTGate.SmartPop;
using FTGate.SmartPop.Internal;

namespace FTGate.SmartPop.Tests.Fuzz;

/// <summary>
/// Issue 17, item 8: the JWT inspector and the server reply catalogue read what servers send; random input for a bounded
/// time must never make them throw.
/// </summary>
public sealed class ParserPropertyTests
{
    private const int Seconds = 2;

    private static readonly SmartPopAccount s_account = new() { Name = "fuzz", Host = "pop.example.com", UserName = "user@example.com" };

    [Fact]
    public void JwtInspector_AnyToken_ReportsFindingsWithoutThrowing() =>
        Gen.Select(Gen.String[0, 40], Gen.String[0, 120], Gen.Int[0, 4], (header, payload, shape) => (header, payload, shape))
            .Sample(
                t =>
                {
                    string token = t.shape switch
                    {
                        0 => t.payload,
                        1 => B64(t.header) + "." + B64(t.payload) + "." + B64(t.header),
                        2 => B64("{\"alg\":\"RS256\"}") + "." + B64("{\"aud\":" + t.payload + ",\"exp\":" + t.header + ",\"scp\":\"" + t.payload + "\"}") + ".x",
                        3 => B64("{\"alg\":\"RS256\"}") + "." + B64("{\"roles\":[" + t.payload + "],\"upn\":{}}") + ".x",
                        _ => t.header + "." + t.payload + "..",
                    };
                    _ = JwtInspector.Inspect(token, s_account);
                },
                iter: 1_000_000,
                time: Seconds,
                threads: 1);

    [Fact]
    public void ServerReplyCatalog_AnyReply_ExplainsWithoutThrowing() =>
        Gen.OneOf(
                Gen.String,
                Gen.Select(Gen.OneOf(Gen.Const("-ERR "), Gen.Const("+ "), Gen.Const("-ERR [AUTH] "), Gen.Const("+OK ")), Gen.String[0, 200], (p, s) => p + s),
                Gen.String[0, 120].Select(s => "+ " + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"status\":\"" + s + "\"}"))))
            .Sample(
                reply => _ = ServerReplyCatalog.Explain(reply, s_account),
                iter: 1_000_000,
                time: Seconds,
                threads: 1);

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
