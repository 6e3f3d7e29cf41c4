namespace FTGate.SmartPop; internal static class Placeholder {}
