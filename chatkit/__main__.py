from chatkit.cli import main

main()
