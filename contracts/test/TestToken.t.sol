// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {TestToken} from "../src/TestToken.sol";

contract TestTokenTest is Test {
    TestToken internal token;

    function setUp() public {
        token = new TestToken("Gotong Test USD", "tUSD", 6);
    }

    function test_constructor_setsNameSymbolAndDecimals() public view {
        assertEq(token.name(), "Gotong Test USD");
        assertEq(token.symbol(), "tUSD");
        assertEq(uint256(token.decimals()), 6);
        assertEq(token.totalSupply(), 0);
    }

    function test_decimals_canBeEighteen() public {
        TestToken other = new TestToken("Eighteen", "E18", 18);
        assertEq(uint256(other.decimals()), 18);
    }

    function test_mint_isOpenToAnyone() public {
        address anyone = makeAddr("anyone");
        address to = makeAddr("to");
        vm.prank(anyone);
        token.mint(to, 123);
        assertEq(token.balanceOf(to), 123);
        assertEq(token.totalSupply(), 123);
    }

    function testFuzz_mint_creditsExactly(address to, uint256 amount) public {
        vm.assume(to != address(0));
        token.mint(to, amount);
        assertEq(token.balanceOf(to), amount);
    }
}
