/**
 * The one ProviderRegistry call the page makes, `getProvider(address)`, as an ABI the browser
 * bundle carries itself: the generated artifacts hold every contract's bytecode (hundreds of
 * kilobytes), far too much to ship for one view function. providerRegistryAbi.test.ts checks it
 * against the compiled contract, so a change to the Provider struct fails that test, not the page.
 */
export const getProviderAbi = [
  {
    type: "function",
    name: "getProvider",
    stateMutability: "view",
    inputs: [{ name: "provider", type: "address" }],
    outputs: [
      {
        name: "",
        type: "tuple",
        components: [
          { name: "registered", type: "bool" },
          { name: "paused", type: "bool" },
          { name: "suspended", type: "bool" },
          { name: "openCases", type: "uint32" },
          { name: "stake", type: "uint256" },
          { name: "unstaking", type: "uint256" },
          { name: "unstakeReadyAt", type: "uint64" },
          { name: "hpkePublicKey", type: "bytes32" },
          { name: "endpoint", type: "string" },
          { name: "slashed", type: "uint256" },
        ],
      },
    ],
  },
] as const;
