import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keccak256, toBytes, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../chain/createClients.ts";
import { deployContracts } from "../chain/deployContracts.ts";
import { startAnvil, type AnvilNode } from "../chain/startAnvil.ts";
import { DEVNET_DEPLOYER_KEY } from "../chain/startDevnet.ts";
import { freePort } from "../../test/helpers/ports.ts";
import { encodeType, typeHashOf } from "./eip712.ts";
import { receiptTypes } from "./receipt.ts";
import { hashVoucher, paymentDomain, voucherTypes } from "./voucher.ts";

describe("encodeType", () => {
  it("writes a struct as EIP-712 encodes it", () => {
    expect(encodeType(voucherTypes, "Voucher")).toBe("Voucher(bytes32 channelId,uint64 epoch,uint256 cumulativeAmount)");
    expect(encodeType(receiptTypes, "Receipt")).toBe(
      "Receipt(bytes32 requestId,bytes32 channelId,bytes32 weightsHash,uint64 inputTokens,uint64 outputTokens,uint256 cost,uint256 cumulativeOwed,bytes32 requestHash,bytes32 responseHash)",
    );
  });

  it("appends referenced structs sorted by name, as the EIP-712 example's Mail type", () => {
    const types = {
      Mail: [
        { name: "from", type: "Person" },
        { name: "to", type: "Person[]" },
        { name: "contents", type: "string" },
        { name: "attachment", type: "Attachment" },
      ],
      Person: [
        { name: "name", type: "string" },
        { name: "wallet", type: "address" },
      ],
      Attachment: [{ name: "data", type: "bytes" }],
      Unused: [{ name: "x", type: "uint8" }],
    } as const;
    expect(encodeType(types, "Mail")).toBe("Mail(Person from,Person[] to,string contents,Attachment attachment)Attachment(bytes data)Person(string name,address wallet)");
    // The type hash of the specification's own example (EIP-712, "Mail(Person from,Person to,string contents)…").
    const spec = { Mail: [{ name: "from", type: "Person" }, { name: "to", type: "Person" }, { name: "contents", type: "string" }], Person: types.Person } as const;
    expect(typeHashOf(spec, "Mail")).toBe("0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
  });

  it("names a type it was not given", () => {
    expect(() => encodeType({ A: [{ name: "b", type: "uint8" }] } as Record<string, { name: string; type: string }[]>, "B")).toThrow(/"B" is not defined/);
  });
});

// The TypeScript definitions against the compiled contract, deployed as every role deploys it: a
// change to either side that the other did not follow fails here.
describe("the EIP-712 definitions match the deployed PaymentChannels", () => {
  let anvil: AnvilNode;
  let clients: ChainClients;
  let domain: { chainId: number; verifyingContract: Address };
  const read = <const F extends "VOUCHER_TYPEHASH" | "RECEIPT_TYPEHASH" | "eip712Domain">(functionName: F) =>
    clients.public.readContract({ address: domain.verifyingContract, abi: PaymentChannelsArtifact.abi, functionName });

  beforeAll(async () => {
    anvil = await startAnvil({ port: await freePort() });
    clients = createClients({ rpcUrl: anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
    const deployment = await deployContracts(clients, { rpcUrl: anvil.rpcUrl });
    domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it("has the voucher's type hash", async () => {
    const onChain = await read("VOUCHER_TYPEHASH");
    expect(typeHashOf(voucherTypes, "Voucher")).toBe(onChain);
    expect(keccak256(toBytes(encodeType(voucherTypes, "Voucher")))).toBe(onChain);
  });

  it("has the receipt's type hash", async () => {
    expect(typeHashOf(receiptTypes, "Receipt")).toBe(await read("RECEIPT_TYPEHASH"));
  });

  it("has the domain paymentDomain names, and digests a voucher as hashVoucher does", async () => {
    const [, name, version, chainId, verifyingContract] = await read("eip712Domain");
    const ours = paymentDomain(domain);
    expect({ name, version, chainId, verifyingContract: verifyingContract.toLowerCase() }).toEqual({
      name: ours.name,
      version: ours.version,
      chainId: BigInt(ours.chainId),
      verifyingContract: ours.verifyingContract.toLowerCase(),
    });
    const voucher = { channelId: `0x${"ab".repeat(32)}` as Hex, epoch: 2n ** 64n - 1n, cumulativeAmount: 123_456_789_012_345_678_901_234_567_890n };
    expect(await clients.public.readContract({ address: domain.verifyingContract, abi: PaymentChannelsArtifact.abi, functionName: "hashVoucher", args: [voucher] })).toBe(hashVoucher(domain, voucher));
  });
});
