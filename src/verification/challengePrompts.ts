import { randomInt } from "node:crypto";
import type { Capability } from "../protocol/capabilities.ts";

/** What a challenge is drawn for: the model's name as offered, and what it can do. */
export type ChallengeModelInfo = {
  /** The model field of the request, as the gateway's real traffic names it. */
  model: string;
  /** The offer's capabilities; without "chat", challenges are completions. */
  capabilities?: readonly Capability[];
  /**
   * Whether the GGUF carries a chat template (`tokenizer.chat_template`). A model without one
   * (stories260K) is a completion model: the provider would render a chat request through a generic
   * template it was never trained on, so real traffic to it is completions and so are challenges.
   * Unknown (undefined): both kinds, half each.
   */
  chatTemplate?: boolean;
  /** The model's context in tokens; max_tokens is kept well inside it. Default 2048. */
  contextSize?: number;
};

/** A uniform integer in [0, n): crypto randomness by default, a seeded source in tests. */
export type RandomSource = (n: number) => number;

/** A challenge request: the OpenAI body to send, and which endpoint it goes to. */
export type Challenge = { body: Record<string, unknown>; kind: "chat" | "completion"; path: "/v1/chat/completions" | "/v1/completions" };

const cryptoRandom: RandomSource = (n) => randomInt(n);

/**
 * Draws a challenge request that reads like real traffic: a prompt composed at random from a small
 * grammar over word lists (story openings for completion models, requests for chat models; about
 * 10^12 distinct prompts, so a provider cannot keep a list of them), a varied `max_tokens` (round
 * numbers as SDK users write them, or any number), streaming or not, and the fields that make the
 * answer checkable: `temperature: 0` and a random `seed`.
 *
 * @example const { body, path } = createChallenge({ model: "stories260K", chatTemplate: false });
 */
export function createChallenge(model: ChallengeModelInfo, random: RandomSource = cryptoRandom): Challenge {
  const pick = <T>(list: readonly T[]): T => list[random(list.length)]!;
  const chatAllowed = model.capabilities === undefined || model.capabilities.includes("chat");
  const chat = chatAllowed && model.chatTemplate !== false && (model.chatTemplate === true || random(2) === 0);
  const context = model.contextSize ?? 2048;
  const body: Record<string, unknown> = { model: model.model };
  let promptChars: number;
  if (chat) {
    const messages: { role: string; content: string }[] = [];
    if (random(3) === 0) messages.push({ role: "system", content: pick(SYSTEM_PROMPTS) });
    const question = composeRequest(pick, random);
    messages.push({ role: "user", content: question });
    body.messages = messages;
    promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  } else {
    const prompt = composeStory(pick, random);
    body.prompt = prompt;
    promptChars = prompt.length;
  }
  // Every token is at least one character here (ASCII word lists), plus a template's few.
  const room = Math.max(16, Math.floor((context - promptChars - 64) / 2));
  body.max_tokens = Math.min(room, random(2) === 0 ? pick(ROUND_MAX_TOKENS) : 16 + random(241));
  body.temperature = 0;
  body.seed = random(2 ** 31);
  if (random(2) === 0) {
    body.stream = true;
    if (random(2) === 0) body.stream_options = { include_usage: true };
  }
  return chat ? { body, kind: "chat", path: "/v1/chat/completions" } : { body, kind: "completion", path: "/v1/completions" };
}

type Pick = <T>(list: readonly T[]) => T;

/** A story opening of one to four sentences, cut sometimes mid-sentence as a completion prompt is. */
function composeStory(pick: Pick, random: RandomSource): string {
  const hero = { name: pick(NAMES), kind: pick(CHARACTERS) };
  const sentences = [fill(pick(OPENINGS), pick, hero)];
  const more = random(4);
  for (let i = 0; i < more; i++) sentences.push(fill(pick(MIDDLES), pick, hero));
  let text = sentences.join(" ");
  // A third of prompts stop inside a sentence, where the model must go on with it.
  if (random(3) === 0) text = `${text} ${fill(pick(CLIFFHANGERS), pick, hero)}`;
  return text;
}

/** A user's request to a chat model: a task, a subject, sometimes a constraint. */
function composeRequest(pick: Pick, random: RandomSource): string {
  const hero = { name: pick(NAMES), kind: pick(CHARACTERS) };
  let text = fill(pick(TASKS), pick, hero);
  if (random(2) === 0) text = `${text} ${fill(pick(CONSTRAINTS), pick, hero)}`;
  if (random(4) === 0) text = `${pick(GREETINGS)} ${text}`;
  return text;
}

/** Replaces each `{slot}` with a word from its list; `{name}` and `{kind}` stay the same character throughout. */
function fill(template: string, pick: Pick, hero: { name: string; kind: string }): string {
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    if (slot === "name") return hero.name;
    if (slot === "kind") return hero.kind;
    const list = SLOTS[slot];
    if (!list) throw new Error(`challenge grammar: unknown slot {${slot}}`);
    return pick(list);
  });
}

const ROUND_MAX_TOKENS = [32, 50, 64, 100, 128, 150, 200, 256] as const;

const NAMES = ["Lily", "Tom", "Sam", "Mia", "Ben", "Anna", "Max", "Lucy", "Tim", "Sara", "Jack", "Emma", "Leo", "Zoe", "Finn", "Ella", "Sue", "Bob", "Amy", "Joe", "Kate", "Ruby", "Jake", "Nina", "Ollie", "Rosa", "Dan", "Ivy", "Kim", "Noah", "Grace", "Eli", "Maya", "Pip", "Molly", "Timmy", "Sally", "Billy", "Daisy", "Harry"];
const CHARACTERS = ["girl", "boy", "cat", "dog", "bunny", "bear", "bird", "frog", "mouse", "fox", "duck", "puppy", "kitten", "lion", "owl", "fish", "horse", "pig", "turtle", "squirrel", "robot", "dragon", "princess", "king", "farmer", "bee", "monkey", "elephant", "sheep", "cow"];
const SLOTS: Record<string, readonly string[]> = {
  adj: ["little", "big", "happy", "shy", "brave", "kind", "tiny", "curious", "silly", "sleepy", "clever", "gentle", "grumpy", "funny", "lonely", "friendly", "proud", "quiet", "busy", "old"],
  place: ["the park", "the forest", "the garden", "the beach", "the farm", "the town", "the big house", "the river", "the hill", "the zoo", "the school", "the shop", "the lake", "the woods", "the yard", "the sky", "the castle", "the cave", "the field", "the kitchen"],
  thing: ["ball", "kite", "box", "hat", "toy", "cake", "flower", "book", "car", "boat", "shoe", "apple", "drum", "cup", "key", "stone", "star", "shell", "crayon", "blanket", "balloon", "sock", "bell", "map", "jar"],
  color: ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "black", "brown", "shiny", "golden"],
  verb: ["play", "run", "jump", "swim", "dance", "sing", "read", "draw", "climb", "bake", "explore", "paint", "hide", "build", "fly", "laugh", "share", "help", "look", "dig"],
  feeling: ["happy", "sad", "scared", "excited", "angry", "surprised", "tired", "proud", "worried", "calm"],
  friend: ["mom", "dad", "a friend", "her brother", "his sister", "grandma", "grandpa", "the teacher", "a neighbor", "the baker"],
  time: ["One day", "One morning", "Later that day", "The next day", "That night", "After lunch", "On a sunny day", "One rainy day", "Soon", "Then"],
  weather: ["sunny", "rainy", "windy", "cold", "warm", "snowy", "cloudy", "bright"],
  topic: ["friendship", "sharing", "being brave", "saying sorry", "trying again", "being kind", "telling the truth", "helping others", "patience", "teamwork"],
  number: ["two", "three", "four", "five", "some", "many"],
};
const OPENINGS = [
  "Once upon a time, there was a {adj} {kind} named {name}.",
  "Once upon a time, in {place}, there lived a {adj} {kind}.",
  "{name} was a {adj} {kind} who loved to {verb}.",
  "There once was a {kind} called {name} who lived near {place}.",
  "It was a {weather} day, and {name} the {kind} went to {place}.",
  "{time}, a {adj} {kind} named {name} found a {color} {thing}.",
  "Once there was a {adj} {kind}. Its name was {name}.",
  "{name} had a {color} {thing} that {name} loved very much.",
  "In a small house by {place}, there was a {kind} named {name}.",
  "{name} and {friend} went to {place} to {verb}.",
];
const MIDDLES = [
  "{time}, {name} saw a {color} {thing} in {place}.",
  "{name} wanted to {verb} with the {thing}.",
  "{name} felt very {feeling}.",
  "{name} asked {friend}, \"Can we {verb} today?\"",
  "The {thing} was {color} and {adj}.",
  "{name} looked everywhere for the {thing}.",
  "{friend} smiled and said, \"Let's {verb} together.\"",
  "{name} met a {adj} {kind} near {place}.",
  "The sky was {weather} and the {thing} was gone.",
  "{name} had {number} friends who liked to {verb}.",
  "{name} did not know what to do.",
  "{time}, {name} went to {place} with {friend}.",
];
const CLIFFHANGERS = [
  "Suddenly, {name} heard",
  "{name} opened the {thing} and saw",
  "When {name} got to {place},",
  "{friend} said, \"",
  "But then, the {thing}",
  "{name} decided to",
  "The {adj} {kind} looked at {name} and",
];
const TASKS = [
  "Write a short story about a {adj} {kind} named {name}.",
  "Tell me a story about {name} and a {color} {thing}.",
  "Can you write a bedtime story about a {kind} who loves to {verb}?",
  "Write a poem about a {adj} {kind} in {place}.",
  "Tell a story for kids about {topic}.",
  "What happens when a {kind} finds a {color} {thing} in {place}?",
  "Write a story where {name} learns about {topic}.",
  "Describe a {weather} day in {place} for a {adj} {kind}.",
  "Make up a fairy tale about a {kind} and a {thing}.",
  "Write a few sentences about a {kind} who feels {feeling}.",
  "Give me a story that starts with: {name} could not find the {thing}.",
  "Tell me about a day when {name} went to {place} with {friend}.",
];
const CONSTRAINTS = [
  "Keep it short.",
  "Use simple words.",
  "Make it funny.",
  "It should have a happy ending.",
  "Make it about {number} paragraphs long.",
  "Include a {color} {thing}.",
  "Make it {adj} and sweet.",
  "My kid is {number} years old.",
];
const GREETINGS = ["Hi!", "Hello.", "Hi there.", "Good morning!"];
const SYSTEM_PROMPTS = [
  "You are a helpful assistant.",
  "You are a friendly storyteller for children.",
  "You are a helpful assistant. Answer briefly.",
  "You write short, simple stories.",
  "You are a creative writing assistant.",
];
