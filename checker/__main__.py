from rxcheck.console import main

main()
