using System.Text.Json.Nodes;
using CsCheck;
using FTGate.Tests.Infrastructure;

namespace FTGate.Cli.Tests;

/// <summary>
/// Issue 17, item 8: the config loader reads a file anyone may have edited. Random documents (random JSON, and valid ones
/// with random values of random types in every known field) never make <c>ftgate</c> throw or print a stack trace: it answers
/// with an exit code and a message.
/// </summary>
public sealed class ConfigLoaderPropertyTests
{
    private const int Seconds = 3;

    private static readonly string[] s_fields =
    [
        "Type", "ClientId", "TenantId", "Authority", "TokenEndpoint", "AuthorizationEndpoint", "Scopes", "Mode", "Cloud", "UserName",
        "ClientSecretEnvironmentVariable", "ClientSecretInTokenStore", "Host", "Port", "Security", "LeaveOnServer", "MaxMessageSize",
        "PasswordEnvironmentVariable", "AuthProvider", "SaslMechanism", "PollInterval", "DeleteAfterDays", "Enabled",
    ];

    private static readonly Gen<JsonNode?> s_value = Gen.OneOf<JsonNode?>(
        Gen.String[0, 20].Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Double.Select(d => (JsonNode?)JsonValue.Create(double.IsFinite(d) ? d : 0)),
        Gen.Int[0, 0].Select(_ => (JsonNode?)null),
        Gen.String[0, 10].Select(s => (JsonNode?)new JsonArray(JsonValue.Create(s), JsonValue.Create(1))),
        Gen.String[0, 10].Select(s => (JsonNode?)new JsonObject { [s] = s }),
        Gen.OneOf(Gen.Const("OAuth2"), Gen.Const("Microsoft"), Gen.Const("Google"), Gen.Const("None"), Gen.Const("995"), Gen.Const("00:05:00"), Gen.Const("true"))
            .Select(s => (JsonNode?)JsonValue.Create(s)));

    private static readonly Gen<string> s_document = Gen.OneOf(
        Gen.String[0, 200],
        Gen.Select(Gen.String[1, 12], s_value.Array[s_fields.Length], Gen.String[1, 12], s_value.Array[s_fields.Length], Gen.Bool, (providerName, providerValues, accountName, accountValues, nested) =>
        {
            var provider = new JsonObject();
            var account = new JsonObject();
            for (int i = 0; i < s_fields.Length; i++)
            {
                provider[s_fields[i]] = providerValues[i]?.DeepClone();
                account[s_fields[i]] = accountValues[i]?.DeepClone();
            }

            JsonNode providers = nested ? new JsonObject { [providerName] = provider } : new JsonArray(provider);
            return new JsonObject
            {
                ["FTGate"] = new JsonObject
                {
                    ["Providers"] = providers,
                    ["SmartPop"] = new JsonObject { ["Accounts"] = new JsonObject { [accountName] = account } },
                },
            }.ToJsonString();
        }));

    [Fact]
    public void AnyConfigFile_StatusAndListAnswerWithAnExitCodeAndAMessage()
    {
        string dir = Infra.NewTempDirectory("ftg-cli-fuzz");
        string config = Path.Combine(dir, "ftgate.json");
        s_document.Sample(
            text =>
            {
                File.WriteAllText(config, text);
                foreach (string[] args in new[] { new[] { "status" }, ["provider", "list"], ["account", "list"] })
                {
                    var output = new LineWriter();
                    var error = new LineWriter();
                    int exit = FTGateCli.RunAsync([.. args, "--config", config], new CliConsole(output, error, new StringReader(""), isInteractive: false), TestContext.Current.CancellationToken)
                        .GetAwaiter().GetResult();
                    string printed = output.ToString() + error.ToString();
                    if (exit is < 0 or > 4 || printed.Contains("   at ", StringComparison.Ordinal) || (exit != 0 && !error.ToString().Contains("error: ", StringComparison.Ordinal) && !printed.Contains("BROKEN", StringComparison.Ordinal)))
                    {
                        throw new InvalidOperationException($"ftgate {string.Join(' ', args)} exited {exit} for a config of {text.Length} characters:\n{printed}");
                    }
                }
            },
            iter: 100_000,
            time: Seconds,
            threads: 1);
    }
}
