// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./utils/Vm.sol";
import {AgentFixture} from "./utils/AgentFixture.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {AgentReputation, IX402PaymentRecord} from "../src/AgentReputation.sol";

/// @notice Pins AgentRegistry and AgentReputation to ERC-8004's registries as deployed
///         (erc-8004/erc-8004-contracts, `IdentityRegistryUpgradeable.sol` and
///         `ReputationRegistryUpgradeable.sol`, the 24 January 2026 mainnet version): every
///         signature below is copied from there as a string, so a change on either side that breaks
///         a caller of the deployed ABI fails here. What Gotong does differently behind the same
///         ABI (ids from 1, payment-weighted `getSummary`, feedback only with a payment, no proxy) is
///         tested in AgentRegistry.t.sol and AgentReputation.t.sol.
/// forge-config: default.isolate = true
contract ERC8004InterfaceTest is AgentFixture {
    AgentRegistry internal registry;
    AgentReputation internal reputation;

    function setUp() public override {
        super.setUp();
        registry = new AgentRegistry();
        reputation = new AgentReputation(usd, registry, fundingPool, 200, IX402PaymentRecord(address(0)));
    }

    function _selector(string memory signature) internal pure returns (bytes4) {
        return bytes4(keccak256(bytes(signature)));
    }

    function _topic(string memory signature) internal pure returns (bytes32) {
        return keccak256(bytes(signature));
    }

    // ---------------------------------------------------------------- identity: functions

    function test_identity_functionSelectorsAreTheDeployedRegistrys() public view {
        assertEq(AgentRegistry.setAgentURI.selector, _selector("setAgentURI(uint256,string)"));
        assertEq(AgentRegistry.getMetadata.selector, _selector("getMetadata(uint256,string)"));
        assertEq(AgentRegistry.setMetadata.selector, _selector("setMetadata(uint256,string,bytes)"));
        assertEq(AgentRegistry.setAgentWallet.selector, _selector("setAgentWallet(uint256,address,uint256,bytes)"));
        assertEq(AgentRegistry.unsetAgentWallet.selector, _selector("unsetAgentWallet(uint256)"));
        assertEq(AgentRegistry.getAgentWallet.selector, _selector("getAgentWallet(uint256)"));
        assertEq(AgentRegistry.isAuthorizedOrOwner.selector, _selector("isAuthorizedOrOwner(address,uint256)"));
        // ERC-721 and EIP-5267, which both inherit from OpenZeppelin (public, so read off the instance).
        assertEq(registry.ownerOf.selector, _selector("ownerOf(uint256)"));
        assertEq(registry.tokenURI.selector, _selector("tokenURI(uint256)"));
        assertEq(registry.balanceOf.selector, _selector("balanceOf(address)"));
        assertEq(registry.getApproved.selector, _selector("getApproved(uint256)"));
        assertEq(registry.isApprovedForAll.selector, _selector("isApprovedForAll(address,address)"));
        assertEq(registry.approve.selector, _selector("approve(address,uint256)"));
        assertEq(registry.setApprovalForAll.selector, _selector("setApprovalForAll(address,bool)"));
        assertEq(registry.transferFrom.selector, _selector("transferFrom(address,address,uint256)"));
        assertEq(registry.supportsInterface.selector, _selector("supportsInterface(bytes4)"));
        assertEq(registry.eip712Domain.selector, _selector("eip712Domain()"));
    }

    /// @dev `register` is overloaded, so `.selector` cannot name one: each deployed signature is
    ///      called by its selector, and must mint the next id to the caller.
    function test_identity_eachRegisterOverloadAnswersTheDeployedSelector() public {
        AgentRegistry.MetadataEntry[] memory metadata = new AgentRegistry.MetadataEntry[](1);
        metadata[0] = AgentRegistry.MetadataEntry("mcp", bytes("https://p.example/mcp"));
        bytes[3] memory calls = [
            abi.encodeWithSelector(_selector("register()")),
            abi.encodeWithSelector(_selector("register(string)"), "ipfs://agent.json"),
            abi.encodeWithSelector(_selector("register(string,(string,bytes)[])"), "ipfs://agent.json", metadata)
        ];
        for (uint256 i; i < calls.length; ++i) {
            vm.prank(owner);
            (bool ok, bytes memory result) = address(registry).call(calls[i]);
            assertTrue(ok, "the deployed signature is served");
            uint256 id = abi.decode(result, (uint256));
            assertEq(id, i + 1, "Gotong's ids count from 1 (the deployed registry's from 0)");
            assertEq(registry.ownerOf(id), owner);
        }
        assertEq(registry.getMetadata(3, "mcp"), bytes("https://p.example/mcp"));
    }

    // ---------------------------------------------------------------- identity: events

    function test_identity_eventTopicsAreTheDeployedRegistrys() public pure {
        assertEq(AgentRegistry.Registered.selector, _topic("Registered(uint256,string,address)"));
        assertEq(AgentRegistry.URIUpdated.selector, _topic("URIUpdated(uint256,string,address)"));
        assertEq(AgentRegistry.MetadataSet.selector, _topic("MetadataSet(uint256,string,string,bytes)"));
    }

    /// @dev The topic hash does not say which parameters are indexed; the number of topics does.
    function test_identity_eventsIndexTheDeployedParameters() public {
        vm.recordLogs();
        vm.prank(owner);
        uint256 id = registry.register("ipfs://agent.json");
        vm.prank(owner);
        registry.setAgentURI(id, "ipfs://v2.json");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _assertTopics(logs, address(registry), _topic("Registered(uint256,string,address)"), 3); // agentId, owner
        _assertTopics(logs, address(registry), _topic("URIUpdated(uint256,string,address)"), 3); // agentId, updatedBy
        _assertTopics(logs, address(registry), _topic("MetadataSet(uint256,string,string,bytes)"), 3); // agentId, indexedMetadataKey
    }

    // ---------------------------------------------------------------- reputation: functions

    function test_reputation_functionSelectorsAreTheDeployedRegistrys() public pure {
        assertEq(
            AgentReputation.giveFeedback.selector,
            _selector("giveFeedback(uint256,int128,uint8,string,string,string,string,bytes32)")
        );
        assertEq(AgentReputation.revokeFeedback.selector, _selector("revokeFeedback(uint256,uint64)"));
        assertEq(
            AgentReputation.appendResponse.selector, _selector("appendResponse(uint256,address,uint64,string,bytes32)")
        );
        assertEq(AgentReputation.readFeedback.selector, _selector("readFeedback(uint256,address,uint64)"));
        assertEq(
            AgentReputation.readAllFeedback.selector, _selector("readAllFeedback(uint256,address[],string,string,bool)")
        );
        assertEq(AgentReputation.getSummary.selector, _selector("getSummary(uint256,address[],string,string)"));
        assertEq(
            AgentReputation.getResponseCount.selector, _selector("getResponseCount(uint256,address,uint64,address[])")
        );
        assertEq(AgentReputation.getClients.selector, _selector("getClients(uint256)"));
        assertEq(AgentReputation.getLastIndex.selector, _selector("getLastIndex(uint256,address)"));
        assertEq(AgentReputation.getIdentityRegistry.selector, _selector("getIdentityRegistry()"));
    }

    // ---------------------------------------------------------------- reputation: events

    function test_reputation_eventTopicsAreTheDeployedRegistrys() public pure {
        assertEq(
            AgentReputation.NewFeedback.selector,
            _topic("NewFeedback(uint256,address,uint64,int128,uint8,string,string,string,string,string,bytes32)")
        );
        assertEq(AgentReputation.FeedbackRevoked.selector, _topic("FeedbackRevoked(uint256,address,uint64)"));
        assertEq(
            AgentReputation.ResponseAppended.selector,
            _topic("ResponseAppended(uint256,address,uint64,address,string,bytes32)")
        );
    }

    function test_reputation_eventsIndexTheDeployedParameters() public {
        vm.prank(owner);
        uint256 id = registry.register("ipfs://agent.json");
        address client = makeAddr("client");
        usd.mint(client, 10e6);
        vm.startPrank(client);
        usd.approve(address(reputation), 10e6);
        reputation.payAgent(id, 10e6, "");
        vm.recordLogs();
        reputation.giveFeedback(id, 90, 0, "speed", "", "https://p.example/v1", "", bytes32(0));
        reputation.appendResponse(id, client, 1, "ipfs://note", bytes32(0));
        reputation.revokeFeedback(id, 1);
        vm.stopPrank();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        // agentId, clientAddress, indexedTag1
        _assertTopics(
            logs,
            address(reputation),
            _topic("NewFeedback(uint256,address,uint64,int128,uint8,string,string,string,string,string,bytes32)"),
            4
        );
        // agentId, clientAddress, responder
        _assertTopics(
            logs, address(reputation), _topic("ResponseAppended(uint256,address,uint64,address,string,bytes32)"), 4
        );
        // agentId, clientAddress, feedbackIndex
        _assertTopics(logs, address(reputation), _topic("FeedbackRevoked(uint256,address,uint64)"), 4);
    }

    /// @dev Asserts `emitter` logged an event with topic0 `topic0` and `count` topics in all.
    function _assertTopics(Vm.Log[] memory logs, address emitter, bytes32 topic0, uint256 count) internal pure {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics.length != 0 && logs[i].topics[0] == topic0) {
                assertEq(logs[i].topics.length, count, "indexed parameters");
                return;
            }
        }
        revert("event not emitted");
    }
}
