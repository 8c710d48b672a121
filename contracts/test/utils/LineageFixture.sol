// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {DatasetRegistry} from "../../src/DatasetRegistry.sol";

/// @notice The Gotong stack plus what lineage tests share: registering derivatives and datasets.
abstract contract LineageFixture is Fixture {
    uint8 internal constant FINE_TUNE = 1;
    uint8 internal constant MERGE = 2;
    uint8 internal constant QUANTISATION = 3;

    DatasetRegistry internal datasets;
    uint256 private _nonce;

    function setUp() public virtual override {
        super.setUp();
        datasets = models.datasets();
        vm.label(address(datasets), "datasets");
    }

    /// @dev One parent.
    function _parents(uint256 id, uint8 relation, uint16 shareBps)
        internal
        pure
        returns (ModelRegistry.Parent[] memory parents)
    {
        parents = new ModelRegistry.Parent[](1);
        parents[0] = ModelRegistry.Parent({modelId: id, relation: relation, shareBps: shareBps});
    }

    /// @dev No parents.
    function _noParents() internal pure returns (ModelRegistry.Parent[] memory) {
        return new ModelRegistry.Parent[](0);
    }

    /// @dev No datasets.
    function _noData() internal pure returns (ModelRegistry.DataShare[] memory) {
        return new ModelRegistry.DataShare[](0);
    }

    /// @dev One dataset.
    function _data(uint256 id, uint16 shareBps) internal pure returns (ModelRegistry.DataShare[] memory shares) {
        shares = new ModelRegistry.DataShare[](1);
        shares[0] = ModelRegistry.DataShare({datasetId: id, shareBps: shareBps});
    }

    /// @dev Registers a derivative with fresh weights, minted to `owner`.
    function _registerDerivative(
        address owner,
        uint16 royaltyBps,
        ModelRegistry.Parent[] memory parents,
        ModelRegistry.DataShare[] memory shares
    ) internal returns (uint256 id) {
        bytes32 weightsHash = keccak256(abi.encode("derived weights", ++_nonce));
        vm.prank(owner);
        id = models.registerDerivative(
            "llama-3-8b-ft", weightsHash, keccak256("manifest"), "ipfs://derived", royaltyBps, parents, shares
        );
    }

    /// @dev Registers a derivative that `provider` offers.
    function _registerOfferedDerivative(
        address owner,
        uint16 royaltyBps,
        ModelRegistry.Parent[] memory parents,
        ModelRegistry.DataShare[] memory shares
    ) internal returns (uint256 id) {
        id = _registerDerivative(owner, royaltyBps, parents, shares);
        vm.prank(provider);
        providers.setOffer(id, 1, 1, 1);
    }

    /// @dev Registers a dataset with fresh content, minted to `owner`.
    function _registerDataset(address owner) internal returns (uint256 id) {
        vm.prank(owner);
        id = datasets.registerDataset(
            keccak256(abi.encode("data", ++_nonce)), "wiki-id", "ipfs://data-manifest", keccak256("data-manifest")
        );
    }

    /// @dev The calldata error a `registerDerivative` refusal carries, expected for the next call.
    function _expectRegisterRevert(
        bytes memory revertData,
        ModelRegistry.Parent[] memory parents,
        ModelRegistry.DataShare[] memory shares
    ) internal {
        bytes32 weightsHash = keccak256(abi.encode("refused weights", ++_nonce));
        vm.expectRevert(revertData);
        vm.prank(creator);
        models.registerDerivative("refused", weightsHash, bytes32(0), "", ROYALTY_BPS, parents, shares);
    }
}
