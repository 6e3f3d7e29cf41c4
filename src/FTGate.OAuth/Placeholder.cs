namespace FTGate.OAuth; internal static class Placeholder {}
