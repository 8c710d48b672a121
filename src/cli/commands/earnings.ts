import { chooseAccounts } from "../../earnings/chooseAccounts.ts";
import { describeRole } from "../../earnings/findLocalAccounts.ts";
import { splitToJson, type PaymentSplit } from "../../earnings/paymentSplit.ts";
import { readAccountEarnings, type AccountEarnings } from "../../earnings/readAccountEarnings.ts";
import { readProtocolFees } from "../../earnings/readProtocolFees.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, parse } from "../shared.ts";

export const help = `gotong earnings [ADDRESS] [--key FILE] [--deployment FILE] [--json]

  Where the money of every paid request went, read from the contracts' own events and balances.
  PaymentChannels splits each redeemed voucher exactly: paid = royalty + protocol fee + provider share.

  For each key of this data folder (gateway, creator, provider; or ADDRESS, or --key FILE):
    royalties, per model it owns or owned (royalties accrue to the model's token, not to an address):
      accrued while you owned it   royalties credited to the model while this account held the token
      came with the token          royalties earlier owners had not withdrawn when it reached you:
                                   they travel with the token, and are now yours to withdraw
      withdrawn by you             paid out to this account (ModelEarningsWithdrawn)
      withdrawable now             PaymentChannels.modelEarnings, if you own the token:
                                   \`gotong model withdraw ID\` (or --all) pays it to you
    from derivatives, per model it owns or owned that others built on (\`gotong model lineage ID\`):
      each derivative's share of its royalties, flowed so far and still pending (pending shares move
      when anyone calls PaymentChannels.flowRoyalties on the derivative; \`gotong model withdraw\` does)
    datasets, per dataset it owns or owned: what models trained on it paid it, what is pending,
      withdrawn by you (DatasetEarningsWithdrawn) and withdrawable now (PaymentChannels.datasetEarnings)
    data pools it holds shares of: its shares, claimable now (\`gotong data claim ID\`), claimed, and
      what the dataset earned that the pool has not collected yet (\`claim\` collects it first)
    provider earnings: its share of every voucher it redeemed, per channel and in total;
      withdrawn (EarningsWithdrawn) and withdrawable now (PaymentChannels.earnings)
    paid: what this account paid as a channel sender (your gateway), per channel, split into
      royalty / protocol fee / provider share (redeemed vouchers only)
  and once for the network:
    protocol fees: credited to the funding pool by redemptions and x402 payments, collected into
      quadratic-funding rounds (ProtocolFeesCollected), and pending in PaymentChannels and
      X402Splitter until someone collects them (\`gotong fund collect\`)
    network: every redemption and x402 payment on this deployment, split the same way

  --json prints amounts as decimal strings of token base units.`;

export async function run(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const accounts = chooseAccounts(ctx.home.keys, { address: positionals[0], keyFile: values.key });
  const deployment = ctx.deployment(values.deployment);
  const reader = ctx.reader(deployment);
  const [earnings, fees] = await Promise.all([Promise.all(accounts.map((a) => readAccountEarnings(reader, deployment, a.address))), readProtocolFees(reader, deployment)]);

  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        chainId: deployment.chainId,
        token: deployment.token,
        accounts: earnings.map((e, i) => ({ role: accounts[i]!.role, ...accountToJson(e) })),
        protocolFees: { fundingPool: deployment.fundingPool, feeBps: fees.feeBps, credited: fees.credited.toString(), collected: fees.collected.toString(), pending: fees.pending.toString(), x402: { credited: fees.x402.credited.toString(), pending: fees.x402.pending.toString() } },
        network: splitToJson(fees.network),
      }, null, 2) + "\n",
    );
    return;
  }

  const { decimals, symbol } = deployment.token;
  const money = (amount: bigint) => `${formatUnits(amount, decimals)} ${symbol} (${amount})`;
  const split = (s: PaymentSplit) => `${money(s.paid)} = royalty ${s.royalty} + protocol fee ${s.fee} + provider ${s.providerShare}`;
  const out: string[] = [`amounts in ${symbol}, base units in brackets (${decimals} decimals); chain ${deployment.chainId}`, ""];
  for (const [i, e] of earnings.entries()) {
    out.push(`${describeRole(accounts[i]!.role)} ${e.address}: withdrawable ${money(e.withdrawable)}, withdrawn ${money(e.withdrawn)}`);
    const quiet = e.royalties.length === 0 && e.provider.channels.length === 0 && e.provider.withdrawn === 0n && e.paid.channels.length === 0 && e.lineage.datasets.length === 0 && e.lineage.pools.length === 0;
    if (quiet) out.push("  nothing earned or paid yet");
    for (const m of e.royalties) {
      out.push(`  royalties of model #${m.modelId} "${m.name}" (${m.royaltyBps / 100}% now)${m.ownedNow ? "" : `, now owned by ${m.owner}`}`);
      out.push(`    accrued while you owned it  ${money(m.accruedWhileYouOwned)}`);
      if (m.ownedNow) out.push(`    came with the token         ${money(m.cameWithToken)}`);
      out.push(`    withdrawn by you            ${money(m.withdrawnByYou)}`);
      if (m.ownedNow) out.push(`    withdrawable now            ${money(m.withdrawable)}${m.withdrawable > 0n ? `   → gotong model withdraw ${m.modelId}` : ""}`);
    }
    for (const a of e.lineage.ancestor) {
      out.push(`  from derivative model #${a.childId} of your model #${a.modelId} (${a.shareBps / 100}% of its royalty): flowed ${money(a.flowed)}; pending ${money(a.pending)}`);
    }
    for (const d of e.lineage.datasets) {
      out.push(`  dataset #${d.datasetId} "${d.name}"${d.ownedNow ? "" : `, now owned by ${d.owner}`}: earned ${money(d.earned)}; pending ${money(d.pending)}; withdrawn by you ${money(d.withdrawnByYou)}${d.ownedNow ? `; withdrawable now ${money(d.withdrawable)}` : ""}`);
    }
    for (const p of e.lineage.pools) {
      out.push(`  data pool of dataset #${p.datasetId} (${p.pool}): ${p.shares} of ${p.totalShares} shares; claimable ${money(p.claimable)}; claimed ${money(p.claimed)}; not collected yet ${money(p.uncollected)}`);
    }
    if (e.provider.channels.length > 0 || e.provider.withdrawn > 0n || e.provider.withdrawable > 0n) {
      out.push(`  provider earnings: earned ${money(e.provider.earned)} over ${e.provider.channels.length} channel(s); withdrawn ${money(e.provider.withdrawn)}; withdrawable ${money(e.provider.withdrawable)}`);
      for (const c of e.provider.channels) out.push(`    channel ${short(c.channelId)} from ${c.sender ? short(c.sender) : "?"} for model #${c.modelId}: paid ${split(c.split)}`);
    }
    if (e.paid.channels.length > 0) {
      out.push(`  paid as a channel sender: ${split(e.paid.total)}`);
      for (const c of e.paid.channels) out.push(`    channel ${short(c.channelId)} to provider ${short(c.provider)} for model #${c.modelId}: ${split(c.split)}`);
    }
    out.push("");
  }
  out.push(`protocol fees (${fees.feeBps / 100}% of each payment, to the funding pool ${deployment.fundingPool}):`);
  out.push(`  credited ${money(fees.credited)}; collected into funding rounds ${money(fees.collected)}; pending ${money(fees.pending)}`);
  if (fees.x402.credited > 0n) out.push(`  of which from x402 payments: credited ${money(fees.x402.credited)}; pending ${money(fees.x402.pending)}`);
  out.push(`network, every redeemed voucher and x402 payment: ${split(fees.network)}`);
  process.stdout.write(out.join("\n") + "\n");
}

/** An account's earnings with every amount as a decimal string of base units. */
function accountToJson(e: AccountEarnings) {
  return {
    address: e.address,
    withdrawable: e.withdrawable.toString(),
    withdrawn: e.withdrawn.toString(),
    provider: {
      earned: e.provider.earned.toString(),
      withdrawable: e.provider.withdrawable.toString(),
      withdrawn: e.provider.withdrawn.toString(),
      channels: e.provider.channels.map((c) => ({ channelId: c.channelId, sender: c.sender ?? null, modelId: c.modelId.toString(), ...splitToJson(c.split) })),
    },
    royalties: e.royalties.map((m) => ({
      modelId: m.modelId.toString(),
      name: m.name,
      royaltyBps: m.royaltyBps,
      owner: m.owner,
      ownedNow: m.ownedNow,
      accrued: m.accrued.toString(),
      accruedWhileYouOwned: m.accruedWhileYouOwned.toString(),
      accruedBeforeYou: m.accruedBeforeYou.toString(),
      cameWithToken: m.cameWithToken.toString(),
      withdrawnByYou: m.withdrawnByYou.toString(),
      withdrawable: m.withdrawable.toString(),
    })),
    paid: { ...splitToJson(e.paid.total), channels: e.paid.channels.map((c) => ({ channelId: c.channelId, provider: c.provider, modelId: c.modelId.toString(), ...splitToJson(c.split) })) },
    fromDerivatives: e.lineage.ancestor.map((a) => ({ modelId: a.modelId.toString(), childId: a.childId.toString(), shareBps: a.shareBps, flowed: a.flowed.toString(), pending: a.pending.toString() })),
    pools: e.lineage.pools.map((p) => ({ pool: p.pool, datasetId: p.datasetId.toString(), shares: p.shares.toString(), totalShares: p.totalShares.toString(), claimable: p.claimable.toString(), claimed: p.claimed.toString(), uncollected: p.uncollected.toString() })),
    datasets: e.lineage.datasets.map((d) => ({ datasetId: d.datasetId.toString(), name: d.name, owner: d.owner, ownedNow: d.ownedNow, earned: d.earned.toString(), pending: d.pending.toString(), withdrawnByYou: d.withdrawnByYou.toString(), withdrawable: d.withdrawable.toString() })),
  };
}

function short(hex: string): string {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}
