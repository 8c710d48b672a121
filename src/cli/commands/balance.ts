import { formatUnits } from "../../payments/price.ts";
import { chooseAccounts } from "../../earnings/chooseAccounts.ts";
import { describeRole } from "../../earnings/findLocalAccounts.ts";
import { readBalance } from "../../earnings/readBalance.ts";
import { context, parse } from "../shared.ts";

export const help = `gotong balance [ADDRESS] [--key FILE] [--deployment FILE] [--json]

  What an account holds on the chain: its native coin (ETH on the devnet: pays for gas) and the
  payment token (gUSD on the devnet: pays for requests, stakes, donations), in token units with
  base units beside them.

  Without ADDRESS or --key it shows every key of this data folder: gateway (the account \`gotong up\`
  calls yours: it pays for requests), creator (owns the models you published) and provider (is
  paid for serving). What you earned but have not withdrawn is not here: see \`gotong earnings\`.
  Empty on the devnet? \`gotong devnet fund ADDRESS\` mints test coin and tokens.

  --key FILE         the account of this private key file
  --deployment FILE  the network to read (default GOTONG_HOME/chain/deployment.json)
  --json             amounts as decimal strings of base units (wei for the native coin)`;

export async function run(args: string[]) {
  const { values, positionals } = parse(args, { key: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const accounts = chooseAccounts(ctx.home.keys, { address: positionals[0], keyFile: values.key });
  const deployment = ctx.deployment(values.deployment);
  const reader = ctx.reader(deployment);
  const balances = await Promise.all(accounts.map((a) => readBalance(reader, deployment, a.address)));
  const { symbol, decimals } = deployment.token;
  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        chainId: deployment.chainId,
        token: deployment.token,
        native: { symbol: "ETH", decimals: 18 },
        accounts: balances.map((b, i) => ({ role: accounts[i]!.role, address: b.address, native: b.native.toString(), token: b.token.toString() })),
      }, null, 2) + "\n",
    );
    return;
  }
  const rows = balances.map((b, i) => [describeRole(accounts[i]!.role), b.address, `${formatUnits(b.token, decimals)} ${symbol} (${b.token})`, `${formatUnits(b.native, 18)} ETH (${b.native} wei)`]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) process.stdout.write(row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join("  ") + "\n");
}
