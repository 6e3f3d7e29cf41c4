namespace FTGate.SmartPop;

/// <summary>The steps of <see cref="ISmartPopClient.TestAsync"/>, in order.</summary>
public enum TestStepKind
{
    /// <summary>DNS resolution of the host.</summary>
    ResolveHost,

    /// <summary>TCP connection.</summary>
    Connect,

    /// <summary>TLS handshake and server certificate (and the POP3 greeting).</summary>
    TlsHandshake,

    /// <summary>CAPA: which mechanisms the server offers (XOAUTH2, OAUTHBEARER, USER, ...).</summary>
    Capabilities,

    /// <summary>Getting an access token from the account's provider (or reading the password).</summary>
    TokenAcquisition,

    /// <summary>Decoding a JWT access token (without validating it): audience, POP scope, signed-in user.</summary>
    TokenInspection,

    /// <summary>Logging in.</summary>
    Login,

    /// <summary>STAT: the mailbox can be read; a warning names messages that earlier fetches left stuck.</summary>
    Stat,
}

/// <summary>How a test step ended.</summary>
public enum TestStepStatus
{
    /// <summary>The step worked.</summary>
    Passed,

    /// <summary>The step worked but something needs attention.</summary>
    Warning,

    /// <summary>The step failed; <see cref="TestStep.Cause"/> and <see cref="TestStep.Remedy"/> say why and what to do.</summary>
    Failed,

    /// <summary>The step did not run (an earlier one failed, or it does not apply).</summary>
    Skipped,
}

/// <summary>One step of a connection test.</summary>
public sealed class TestStep
{
    /// <summary>Which step.</summary>
    public required TestStepKind Kind { get; init; }

    /// <summary>How it ended.</summary>
    public required TestStepStatus Status { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>What was found (addresses, certificate, mechanisms, token claims, message count).</summary>
    public string? Detail { get; init; }

    /// <summary>For a failed or warning step: the most likely cause(s).</summary>
    public string? Cause { get; init; }

    /// <summary>For a failed or warning step: what to do.</summary>
    public string? Remedy { get; init; }

    /// <summary>The server's own reply, when it gave one.</summary>
    public string? ServerReply { get; init; }

    /// <summary>The stable error code of a failed step, or of a warning that has one (<see cref="SmartPopErrorCodes.MessageStuck"/> on <see cref="TestStepKind.Stat"/>).</summary>
    public string? ErrorCode { get; init; }
}

/// <summary>The result of <see cref="ISmartPopClient.TestAsync"/>: every step with status, duration, cause and remedy.</summary>
public sealed class TestReport
{
    /// <summary>The SmartPop account.</summary>
    public required string AccountName { get; init; }

    /// <summary>The steps in order.</summary>
    public required IReadOnlyList<TestStep> Steps { get; init; }

    /// <summary><see langword="true"/> when no step failed.</summary>
    public bool Succeeded => Steps.All(s => s.Status != TestStepStatus.Failed);

    /// <summary>The first failed step, if any.</summary>
    public TestStep? FailedStep => Steps.FirstOrDefault(s => s.Status == TestStepStatus.Failed);

    /// <summary>Total duration.</summary>
    public TimeSpan Duration { get; init; }
}
