@echo off
node "%~dp0solc-wrapper.mjs" %*
