import { describe, expect, it } from "vitest";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import { parseLineageOptions } from "./parseLineageOptions.ts";

describe("parseLineageOptions", () => {
  it("reads parents with and without a share, one relation for all or one each, and datasets", () => {
    expect(parseLineageOptions({ parent: ["7:3000", "9"], relation: ["merge"], dataset: ["2:500", "3:250"] })).toEqual({
      parents: [{ modelId: "7", relation: "merge", shareBps: 3000 }, { modelId: "9", relation: "merge", shareBps: undefined }],
      datasets: [{ datasetId: "2", shareBps: 500 }, { datasetId: "3", shareBps: 250 }],
    });
    expect(parseLineageOptions({ parent: ["7", "9:10"], relation: ["fine-tune", "adapter"] }).parents.map((p) => p.relation)).toEqual(["fine-tune", "adapter"]);
    expect(parseLineageOptions({})).toEqual({ parents: [], datasets: [] });
  });

  it("refuses each malformed combination, naming the option", () => {
    const message = (values: Parameters<typeof parseLineageOptions>[0]) => gotongErrorOf(() => parseLineageOptions(values)).message;
    expect(message({ parent: ["7"] })).toBe("--parent needs --relation");
    expect(message({ relation: ["merge"] })).toBe("--relation goes with --parent");
    expect(message({ parent: ["7", "8", "9"], relation: ["merge", "adapter"] })).toBe("3 --parent but 2 --relation");
    expect(message({ parent: ["7:abc"], relation: ["merge"] })).toContain('--parent "7:abc" is not ID or ID:BPS');
    expect(message({ parent: ["0"], relation: ["merge"] })).toContain("is not ID or ID:BPS");
    expect(message({ parent: ["7", "7:100"], relation: ["merge"] })).toBe("--parent 7 is given twice");
    expect(message({ parent: ["7:10001"], relation: ["merge"] })).toBe("--parent share 10001 is above 10000 bps");
    expect(message({ dataset: ["3"] })).toContain('--dataset "3" is not ID:BPS');
    expect(message({ parent: ["7"], relation: ["copy"] })).toContain('"copy" is not a model relation');
  });
});
