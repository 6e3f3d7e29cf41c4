// A second process for the OAuth tests' cross-process checks.
//   worker <store-directory> <key> <increments>
//     increments a little-endian int32 counter stored under <key> in a FileTokenStore, retrying on concurrency conflicts.
//   worker refresh <store-directory> <token-endpoint> <client-id> <user>
//     prints "ready", waits for a "go" line on its standard input (the test sends it to every worker once all are ready, so
//     they start together), then asks a generic OAuth2 provider over the FileTokenStore for an access token and prints
//     "token <sha256-prefix>" (or "error <code> <message>").
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FTGate.OAuth;
using Microsoft.Extensions.Options;

if (args.Length == 5 && args[0] == "refresh")
{
    return await RefreshAsync(args[1], args[2], args[3], args[4]);
}

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: worker <store-directory> <key> <increments> | worker refresh <store> <token-endpoint> <client-id> <user>");
    return 2;
}

var store = new FileTokenStore(args[0]);
int increments = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
for (int i = 0; i < increments; i++)
{
    await store.UpdateAsync(
        args[1],
        current =>
        {
            int value = current is null ? 0 : BinaryPrimitives.ReadInt32LittleEndian(current.Value.Span);
            byte[] next = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(next, value + 1);
            return next;
        },
        maxAttempts: 1000);
}

Console.WriteLine("done");
return 0;

static async Task<int> RefreshAsync(string directory, string tokenEndpoint, string clientId, string user)
{
    var options = new OAuth2AuthOptions { TokenEndpoint = tokenEndpoint, ClientId = clientId, UserName = user, AllowInsecureHttp = true };
    var provider = new OAuth2AuthProvider("shared", new FixedOptions(options), new FileTokenStore(directory), TimeProvider.System);
    Console.WriteLine("ready");
    // The cross-process barrier: the test writes "go" to every worker's input once all have printed "ready". A closed input
    // (the test gave up) ends the worker without a request.
    string? go = await Console.In.ReadLineAsync();
    if (go != "go")
    {
        Console.WriteLine($"error barrier expected 'go' on the standard input, got {(go is null ? "end of input" : $"'{go}'")}");
        return 3;
    }

    try
    {
        AccessToken token = await provider.GetAccessTokenAsync(user);
        Console.WriteLine("token " + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token.Value)))[..16]);
        return 0;
    }
    catch (FTGateException ex)
    {
        Console.WriteLine($"error {ex.ErrorCode} {ex.Message}");
        return 1;
    }
}

internal sealed class FixedOptions(OAuth2AuthOptions options) : IOptionsMonitor<OAuth2AuthOptions>
{
    public OAuth2AuthOptions CurrentValue => options;

    public OAuth2AuthOptions Get(string? name) => options;

    public IDisposable? OnChange(Action<OAuth2AuthOptions, string?> listener) => null;
}
