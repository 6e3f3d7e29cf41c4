using FTGate.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(IntegrationServers))]
