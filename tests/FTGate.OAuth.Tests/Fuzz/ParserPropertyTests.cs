using System.Text;
using CsCheck;
using FTGate.OAuth;
using FTGate.OAuth.Internal;

namespace FTGate.OAuth.Tests.Fuzz;

/// <summary>
/// Issue 17, item 8: what parses untrusted input (the redirect's query, the id token) is fed random input for a bounded time;
/// no exception escapes other than the SDK's own.
/// </summary>
public sealed class ParserPropertyTests
{
    /// <summary>Seconds per property: bounded so the suite stays fast on two cores.</summary>
    private const int Seconds = 2;

    private static readonly Gen<string> s_queryish = Gen.OneOf(
        Gen.String,
        Gen.Char["?&=%+#abcdefcodestateiss_error0123456789ABCDEF\u0000\u00e9\ud800\udc00 ;/"].Array[0, 300].Select(c => new string(c)),
        Gen.Select(Gen.String[0, 40], Gen.String[0, 40], Gen.String[0, 40], (c, s, e) => $"?code={c}&state={s}&error={e}&error_description={e}%{c}"));

    [Fact]
    public void CallbackQuery_AnyText_ParsesOrFailsWithTheSdksOwnError() =>
        s_queryish.Sample(
            query => Tolerate(() =>
            {
                AuthorizationCallback callback = AuthorizationCallback.FromQuery(query);
                _ = callback.ToString();
            }),
            iter: 1_000_000,
            time: Seconds,
            threads: 1);

    [Fact]
    public void CallbackUri_AnyQuery_ParsesOrFailsWithTheSdksOwnError() =>
        s_queryish.Sample(
            query =>
            {
                if (Uri.TryCreate("http://127.0.0.1:8080/callback" + (query.StartsWith('?') ? query : "?" + query), UriKind.Absolute, out Uri? uri))
                {
                    Tolerate(() => AuthorizationCallback.FromUri(uri));
                }
            },
            iter: 1_000_000,
            time: Seconds,
            threads: 1);

    [Fact]
    public void IdToken_AnySegments_ReadsClaimsOrNothing() =>
        Gen.Select(Gen.String[0, 30], Gen.String[0, 60], Gen.Int[0, 3], (header, payload, dots) => (header, payload, dots))
            .Sample(
                t =>
                {
                    string token = t.dots switch
                    {
                        0 => t.payload,
                        1 => B64(t.header) + "." + B64(t.payload),
                        2 => B64("{\"alg\":\"none\"}") + "." + B64("{\"sub\":" + t.payload + "}") + ".sig",
                        _ => B64(t.header) + "." + t.payload + "." + t.payload,
                    };
                    Tolerate(() => IdTokenClaims.AccountName(IdTokenClaims.Read(token)));
                },
                iter: 1_000_000,
                time: Seconds,
                threads: 1);

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static void Tolerate(Action parse)
    {
        try
        {
            parse();
        }
        catch (FTGateException)
        {
            // The SDK's own, with a code and a remedy: allowed.
        }
    }
}
