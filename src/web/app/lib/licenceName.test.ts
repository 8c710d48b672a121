import { describe, expect, it } from "vitest";
import { licenceName } from "./licenceName.ts";

describe("licenceName", () => {
  it("names known SPDX ids, says operators in words and keeps unknown ids as written", () => {
    expect(licenceName("Apache-2.0")).toBe("Apache License 2.0");
    expect(licenceName("MIT OR Apache-2.0")).toBe("MIT License or Apache License 2.0");
    expect(licenceName("(MIT AND CC-BY-4.0) OR GPL-3.0+")).toBe("(MIT License and Creative Commons Attribution 4.0) or GNU GPL v3.0 or later");
    expect(licenceName("Apache-2.0 WITH LLVM-exception")).toBe("Apache License 2.0 with LLVM Exception");
    expect(licenceName("LicenseRef-my-terms")).toBe("LicenseRef-my-terms");
    expect(licenceName("NOASSERTION")).toBe("not stated");
  });
});
