using System.Text.Json;
using System.Text.Json.Nodes;

namespace FTGate.WebAdmin.Configuration;

/// <summary>
/// The JSON configuration file beside the app, in the SDK's shape:
/// <c>{ "FTGate": { "TokenStore": {...}, "Providers": { "&lt;name&gt;": { "Type": ..., ... } }, "SmartPop": { "Accounts": { ... } } } }</c>,
/// so the same file works with <c>services.AddFTGate(configuration.GetSection("FTGate"))</c> in any host. Written atomically
/// and owner-only (it holds client secrets). Tokens are never in it: they are in the encrypted token store.
/// </summary>
internal sealed class ConfigurationFile
{
    private static readonly JsonSerializerOptions s_writeOptions = new() { WriteIndented = true };
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly Lock _sync = new();
    private JsonObject _root;

    public ConfigurationFile(string path, string tokenDirectory)
    {
        Path = path;
        TokenDirectory = tokenDirectory;
        _root = File.Exists(path) ? Load(path) : new JsonObject();
        JsonObject ftgate = Section(_root, "FTGate");
        JsonObject store = Section(ftgate, "TokenStore");
        store["Directory"] ??= tokenDirectory;
        CheckNames(path, "Provider", Section(ftgate, "Providers"));
        CheckNames(path, "Account", Section(Section(ftgate, "SmartPop"), "Accounts"));
        Version = 1;
        if (!File.Exists(path))
        {
            // Written at once so that the administrator finds the file (and its shape) beside the app.
            DataFolder.WriteAtomicallyAsync(path, JsonSerializer.SerializeToUtf8Bytes(_root, s_writeOptions), CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The token store folder.</summary>
    public string TokenDirectory { get; }

    /// <summary>Changes each time the file is saved.</summary>
    public int Version { get; private set; }

    /// <summary>A copy of the whole document (callers may not change the live one).</summary>
    public JsonObject Snapshot()
    {
        lock (_sync)
        {
            return (JsonObject)_root.DeepClone();
        }
    }

    /// <summary>A copy of the <c>FTGate:Providers</c> object.</summary>
    public JsonObject Providers() => Section(Section(Snapshot(), "FTGate"), "Providers");

    /// <summary>A copy of the <c>FTGate:SmartPop:Accounts</c> object.</summary>
    public JsonObject Accounts() => Section(Section(Section(Snapshot(), "FTGate"), "SmartPop"), "Accounts");

    /// <summary>Changes the document and saves it.</summary>
    public async Task UpdateAsync(Action<JsonObject> change, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            var copy = (JsonObject)_root.DeepClone();
            change(copy);
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(copy, s_writeOptions);
            await DataFolder.WriteAtomicallyAsync(Path, bytes, cancellationToken);
            lock (_sync)
            {
                _root = copy;
                Version++;
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>The document as UTF-8 JSON (what the SDK's configuration binder reads).</summary>
    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(Snapshot());

    /// <summary>Gets or creates a child object.</summary>
    public static JsonObject Section(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject existing)
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    /// <summary>The same name rules as Add and Save (and the CLI): a file edited by hand may not smuggle in a bad name.</summary>
    private static void CheckNames(string path, string kind, JsonObject section)
    {
        foreach ((string name, _) in section)
        {
            if (Samples.NameRules.Check(kind, name) is { Count: > 0 } problems)
            {
                throw new WebAdminStartupException($"the configuration file '{path}': {string.Join(" ", problems)}");
            }
        }
    }

    private static JsonObject Load(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject
                ?? throw new WebAdminStartupException($"the configuration file '{path}' does not hold a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new WebAdminStartupException($"the configuration file '{path}' is not valid JSON: {ex.Message}");
        }
    }
}
