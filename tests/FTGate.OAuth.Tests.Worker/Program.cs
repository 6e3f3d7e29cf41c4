// Usage: FTGate.OAuth.Tests.Worker <store-directory> <key> <increments>
// Increments a little-endian int32 counter stored under <key> in a FileTokenStore, retrying on concurrency conflicts.
using System.Buffers.Binary;
using FTGate.OAuth;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: worker <store-directory> <key> <increments>");
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
