#!/usr/bin/env -S npx tsx --conditions=gotong-source
/**
 * An autonomous agent that supports open-source AI: it reads a quadratic-funding round, asks a model
 * on the Gotong network which projects deserve support, and donates within the budget its owner set
 * on its agent wallet. Every donation, and the inference it paid for, came out of that budget; the
 * wallet contract refuses anything beyond it, whatever this program does.
 *
 *   gotong agent create funder --budget 10 --period 1d        # once, as the owner
 *   npx tsx --conditions=gotong-source examples/funding-agent.ts --agent funder --round 1 [--model NAME] [--total 5]
 *
 * (`--conditions=gotong-source` points `gotong/agent` at this checkout's src/; without it, at the
 * build in dist/, as for a user of the npm package.)
 *
 * Quadratic funding matches breadth: many small donations to several projects are matched more than
 * one large donation to one. So the agent spreads what it gives over the projects the model picks,
 * preferring those with few donors so far, and never gives more than the per-transaction cap at once.
 */
import { parseArgs } from "node:util";
import { formatUnits, parseUnits } from "viem";
import { openAgent, type ProjectStatus } from "gotong/agent";

const { values } = parseArgs({
  options: {
    agent: { type: "string", default: "default" },
    round: { type: "string" },
    model: { type: "string" },
    total: { type: "string" },
    home: { type: "string" },
  },
});
if (!values.round) {
  console.error("usage: funding-agent.ts --round ID [--agent NAME] [--model NAME] [--total TOKENS]");
  process.exit(2);
}

/** Refusals that mean no live provider serves the model now (see the gateway's error codes). */
const UNSERVED = new Set(["model_not_found", "no_provider_ready", "no_provider_available", "provider_unavailable", "provider_retries_exhausted"]);

const agent = await openAgent(values.agent, { home: values.home });
const { token } = agent.deployment;
const show = (amount: bigint) => `${formatUnits(amount, token.decimals)} ${token.symbol}`;

try {
  const roundId = BigInt(values.round);
  const round = await agent.fundingRound(roundId);
  if (!round.donationsOpen) throw new Error(`Round ${roundId} is not taking donations (it is ${round.phase}).`);
  const projects = round.projects.filter((p) => !p.rejected);
  if (projects.length === 0) throw new Error(`Round ${roundId} has no projects yet.`);
  const describe = (p: ProjectStatus) =>
    `${p.projectId}. ${p.modelName ?? `project of ${p.claimant}`} (${p.donors} donors, ${show(p.donated)} donated, estimated match ${show(p.match)})`;

  // 1. Ask a model on the network which projects to support (paid from the wallet, within its budget).
  const model = values.model ?? (await agent.models())[0]?.name;
  if (!model) throw new Error("No model is on offer on this network.");
  const question = [
    "You allocate donations to open-source AI projects in a quadratic-funding round.",
    "Projects:",
    ...projects.map(describe),
    "Reply with the numbers of the projects to support, separated by commas.",
  ].join("\n");
  let reply = "";
  try {
    const answer = await agent.chat({ model, messages: [{ role: "user", content: question }], maxTokens: 48, temperature: 0 });
    reply = answer.content;
    console.log(`asked ${model} (cost ${show(answer.cost)}); it answered: ${JSON.stringify(answer.content.trim().slice(0, 200))}`);
  } catch (error) {
    // A model whose context cannot hold the question, or that no live provider serves (its
    // providers stopped, or nobody offers it), is refused before anything is paid: carry on
    // without its advice rather than give nothing.
    const code = (error as { code?: string }).code;
    if (code === "context_length_exceeded") console.log(`${model} cannot take the question (${(error as Error).message}); nothing was paid for it`);
    else if (code && UNSERVED.has(code)) console.log(`no provider serves ${model} now (${(error as Error).message}); nothing was paid for it`);
    else throw error;
  }

  // 2. Keep the projects it named; a model too small to follow the instruction names none, and then
  //    the agent falls back to supporting every project (breadth is what quadratic funding rewards).
  const named = new Set((reply.match(/\d+/g) ?? []).map(Number));
  let chosen = projects.filter((p) => named.has(p.projectId));
  if (chosen.length === 0) {
    console.log("the answer named no project of this round: supporting all of them");
    chosen = projects;
  }
  chosen.sort((a, b) => Number(a.donors - b.donors)); // fewest donors first: a new donor adds the most match

  // 3. Donate within the budget: what is left this period (or --total, if lower), at most the cap at once.
  const budget = await agent.budget();
  const balance = (await agent.balance()).token.balance;
  let total = values.total ? parseUnits(values.total, token.decimals) : budget.left;
  total = [total, budget.left, balance].reduce((a, b) => (a < b ? a : b));
  const share = total / BigInt(chosen.length);
  if (share === 0n) throw new Error(`Nothing to give: ${show(budget.left)} of the budget is left this period.`);
  console.log(`budget left this period ${show(budget.left)}; giving ${show(share)} to each of ${chosen.length} project(s)`);
  for (const project of chosen) {
    let left = share;
    while (left > 0n) {
      const amount = left < budget.maxPerTransaction ? left : budget.maxPerTransaction;
      const donation = await agent.donate({ roundId, projectId: BigInt(project.projectId), amount });
      console.log(`donated ${show(amount)} to ${project.modelName ?? `project ${project.projectId}`} (transaction ${donation.hash})`);
      left -= amount;
    }
  }
  const after = await agent.budget();
  console.log(`done: ${show(after.spent)} spent this period, ${show(after.left)} left (resets ${new Date(after.resetsAt * 1000).toISOString()})`);
} catch (error) {
  console.error(`funding agent stopped: ${(error as Error).message}${(error as { hint?: string }).hint ? `\nhint: ${(error as { hint?: string }).hint}` : ""}`);
  process.exitCode = 1;
} finally {
  await agent.close();
}
